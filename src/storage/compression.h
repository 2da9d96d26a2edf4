// The four codecs Kafka record batches use, for validating and re-encoding batch contents.
//
// Codec ids are the batch attribute values: 1 gzip, 2 snappy (raw or Kafka's xerial framing),
// 3 lz4 (frame format), 4 zstd. Decompression output is bounded by `max_output` so a small
// malicious batch cannot expand into an unbounded allocation.
#pragma once

#include <cstddef>
#include <optional>
#include <span>
#include <string_view>
#include <vector>

#include "common/result.h"

namespace eddy::storage {

enum class Codec { kNone = 0, kGzip = 1, kSnappy = 2, kLz4 = 3, kZstd = 4 };

Result<std::vector<std::byte>> decompress(Codec codec, std::span<const std::byte> input,
                                          size_t max_output);
Result<std::vector<std::byte>> compress(Codec codec, std::span<const std::byte> input);

// Kafka's compression.type names ("gzip", ...; "uncompressed" is kNone). nullopt for
// "producer" and unknown names.
std::optional<Codec> codec_from_name(std::string_view name);

}  // namespace eddy::storage
