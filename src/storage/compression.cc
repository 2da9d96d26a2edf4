#include "storage/compression.h"

#include <lz4frame.h>
#include <snappy-c.h>
#include <zlib.h>
#include <zstd.h>

#include <cstring>

#include "storage/record_batch.h"

namespace eddy::storage {
namespace {

Error too_big(size_t max_output) {
  return Error(ErrorCode::kTooLarge,
               "decompressed records exceed " + std::to_string(max_output) + " bytes");
}

Result<std::vector<std::byte>> gunzip(std::span<const std::byte> in, size_t max_output) {
  z_stream z{};
  if (inflateInit2(&z, 15 + 32) != Z_OK) return Error(ErrorCode::kInternal, "inflateInit2");
  std::vector<std::byte> out;
  z.next_in = reinterpret_cast<Bytef*>(const_cast<std::byte*>(in.data()));
  z.avail_in = static_cast<uInt>(in.size());
  int rc = Z_OK;
  while (rc != Z_STREAM_END) {
    if (out.size() >= max_output) {
      inflateEnd(&z);
      return too_big(max_output);
    }
    size_t old = out.size();
    out.resize(std::min(max_output, std::max<size_t>(old * 2, 64 * 1024)));
    z.next_out = reinterpret_cast<Bytef*>(out.data() + old);
    z.avail_out = static_cast<uInt>(out.size() - old);
    rc = inflate(&z, Z_NO_FLUSH);
    out.resize(out.size() - z.avail_out);
    if (rc == Z_STREAM_END) break;
    if (rc != Z_OK && !(rc == Z_BUF_ERROR && z.avail_in > 0)) {
      inflateEnd(&z);
      return Error(ErrorCode::kCorrupt, "gzip data is damaged");
    }
    if (z.avail_in == 0 && z.avail_out > 0) {
      inflateEnd(&z);
      return Error(ErrorCode::kCorrupt, "gzip data is truncated");
    }
  }
  inflateEnd(&z);
  return out;
}

Result<std::vector<std::byte>> gzip(std::span<const std::byte> in) {
  z_stream z{};
  if (deflateInit2(&z, Z_DEFAULT_COMPRESSION, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) != Z_OK) {
    return Error(ErrorCode::kInternal, "deflateInit2");
  }
  std::vector<std::byte> out(deflateBound(&z, static_cast<uLong>(in.size())) + 32);
  z.next_in = reinterpret_cast<Bytef*>(const_cast<std::byte*>(in.data()));
  z.avail_in = static_cast<uInt>(in.size());
  z.next_out = reinterpret_cast<Bytef*>(out.data());
  z.avail_out = static_cast<uInt>(out.size());
  int rc = deflate(&z, Z_FINISH);
  deflateEnd(&z);
  if (rc != Z_STREAM_END) return Error(ErrorCode::kInternal, "gzip compression failed");
  out.resize(out.size() - z.avail_out);
  return out;
}

Status unsnappy_block(std::span<const std::byte> in, size_t max_output,
                      std::vector<std::byte>& out) {
  size_t length = 0;
  const char* src = reinterpret_cast<const char*>(in.data());
  if (snappy_uncompressed_length(src, in.size(), &length) != SNAPPY_OK) {
    return Error(ErrorCode::kCorrupt, "snappy data is damaged");
  }
  if (length > max_output - std::min(max_output, out.size())) return too_big(max_output);
  size_t at = out.size();
  out.resize(at + length);
  if (snappy_uncompress(src, in.size(), reinterpret_cast<char*>(out.data() + at), &length) !=
      SNAPPY_OK) {
    return Error(ErrorCode::kCorrupt, "snappy data is damaged");
  }
  return ok_status();
}

Result<std::vector<std::byte>> unsnappy(std::span<const std::byte> in, size_t max_output) {
  // Java clients frame snappy the xerial way: a 16-byte header, then (int32 length, block)*.
  static const unsigned char kXerial[8] = {0x82, 'S', 'N', 'A', 'P', 'P', 'Y', 0};
  std::vector<std::byte> out;
  if (in.size() >= 16 && std::memcmp(in.data(), kXerial, 8) == 0) {
    size_t pos = 16;
    while (pos < in.size()) {
      if (in.size() - pos < 4) return Error(ErrorCode::kCorrupt, "truncated snappy frame");
      auto length = static_cast<uint32_t>(load_be32(in.data() + pos));
      pos += 4;
      if (length > in.size() - pos) return Error(ErrorCode::kCorrupt, "truncated snappy frame");
      RETURN_IF_ERROR(unsnappy_block(in.subspan(pos, length), max_output, out));
      pos += length;
    }
    return out;
  }
  RETURN_IF_ERROR(unsnappy_block(in, max_output, out));
  return out;
}

Result<std::vector<std::byte>> snappy(std::span<const std::byte> in) {
  size_t length = snappy_max_compressed_length(in.size());
  std::vector<std::byte> out(length);
  if (snappy_compress(reinterpret_cast<const char*>(in.data()), in.size(),
                      reinterpret_cast<char*>(out.data()), &length) != SNAPPY_OK) {
    return Error(ErrorCode::kInternal, "snappy compression failed");
  }
  out.resize(length);
  return out;
}

Result<std::vector<std::byte>> unlz4(std::span<const std::byte> in, size_t max_output) {
  LZ4F_dctx* ctx = nullptr;
  if (LZ4F_isError(LZ4F_createDecompressionContext(&ctx, LZ4F_VERSION))) {
    return Error(ErrorCode::kInternal, "lz4 context");
  }
  std::vector<std::byte> out;
  size_t pos = 0;
  size_t hint = 1;
  while (pos < in.size() && hint != 0) {
    if (out.size() >= max_output) {
      LZ4F_freeDecompressionContext(ctx);
      return too_big(max_output);
    }
    size_t old = out.size();
    out.resize(std::min(max_output, std::max<size_t>(old * 2, 64 * 1024)));
    size_t dst = out.size() - old;
    size_t src = in.size() - pos;
    hint = LZ4F_decompress(ctx, out.data() + old, &dst, in.data() + pos, &src, nullptr);
    if (LZ4F_isError(hint)) {
      LZ4F_freeDecompressionContext(ctx);
      return Error(ErrorCode::kCorrupt,
                   std::string("lz4 data is damaged: ") + LZ4F_getErrorName(hint));
    }
    out.resize(old + dst);
    pos += src;
    if (src == 0 && dst == 0) break;
  }
  LZ4F_freeDecompressionContext(ctx);
  if (hint != 0) return Error(ErrorCode::kCorrupt, "lz4 data is truncated");
  return out;
}

Result<std::vector<std::byte>> lz4(std::span<const std::byte> in) {
  LZ4F_preferences_t prefs{};
  std::vector<std::byte> out(LZ4F_compressFrameBound(in.size(), &prefs));
  size_t n = LZ4F_compressFrame(out.data(), out.size(), in.data(), in.size(), &prefs);
  if (LZ4F_isError(n)) return Error(ErrorCode::kInternal, "lz4 compression failed");
  out.resize(n);
  return out;
}

Result<std::vector<std::byte>> unzstd(std::span<const std::byte> in, size_t max_output) {
  ZSTD_DStream* stream = ZSTD_createDStream();
  std::vector<std::byte> out;
  ZSTD_inBuffer input{in.data(), in.size(), 0};
  size_t rc = 1;
  while (rc != 0) {
    if (out.size() >= max_output) {
      ZSTD_freeDStream(stream);
      return too_big(max_output);
    }
    size_t old = out.size();
    out.resize(std::min(max_output, std::max<size_t>(old * 2, 64 * 1024)));
    ZSTD_outBuffer output{out.data() + old, out.size() - old, 0};
    rc = ZSTD_decompressStream(stream, &output, &input);
    out.resize(old + output.pos);
    if (ZSTD_isError(rc)) {
      ZSTD_freeDStream(stream);
      return Error(ErrorCode::kCorrupt,
                   std::string("zstd data is damaged: ") + ZSTD_getErrorName(rc));
    }
    if (rc != 0 && input.pos == input.size && output.pos < output.size) {
      ZSTD_freeDStream(stream);
      return Error(ErrorCode::kCorrupt, "zstd data is truncated");
    }
  }
  ZSTD_freeDStream(stream);
  return out;
}

Result<std::vector<std::byte>> zstd(std::span<const std::byte> in) {
  std::vector<std::byte> out(ZSTD_compressBound(in.size()));
  size_t n = ZSTD_compress(out.data(), out.size(), in.data(), in.size(), 3);
  if (ZSTD_isError(n)) return Error(ErrorCode::kInternal, "zstd compression failed");
  out.resize(n);
  return out;
}

}  // namespace

Result<std::vector<std::byte>> decompress(Codec codec, std::span<const std::byte> input,
                                          size_t max_output) {
  switch (codec) {
    case Codec::kNone:
      return std::vector<std::byte>(input.begin(), input.end());
    case Codec::kGzip:
      return gunzip(input, max_output);
    case Codec::kSnappy:
      return unsnappy(input, max_output);
    case Codec::kLz4:
      return unlz4(input, max_output);
    case Codec::kZstd:
      return unzstd(input, max_output);
  }
  return Error(ErrorCode::kUnsupported, "unknown compression codec");
}

Result<std::vector<std::byte>> compress(Codec codec, std::span<const std::byte> input) {
  switch (codec) {
    case Codec::kNone:
      return std::vector<std::byte>(input.begin(), input.end());
    case Codec::kGzip:
      return gzip(input);
    case Codec::kSnappy:
      return snappy(input);
    case Codec::kLz4:
      return lz4(input);
    case Codec::kZstd:
      return zstd(input);
  }
  return Error(ErrorCode::kUnsupported, "unknown compression codec");
}

std::optional<Codec> codec_from_name(std::string_view name) {
  if (name == "uncompressed") return Codec::kNone;
  if (name == "gzip") return Codec::kGzip;
  if (name == "snappy") return Codec::kSnappy;
  if (name == "lz4") return Codec::kLz4;
  if (name == "zstd") return Codec::kZstd;
  return std::nullopt;
}

}  // namespace eddy::storage
