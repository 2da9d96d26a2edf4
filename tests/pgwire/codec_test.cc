// The pgwire message codec: bounded decoding of frontend messages and exact encoding of
// backend messages.
#include "pgwire/codec.h"

#include <gtest/gtest.h>

namespace eddy::pgwire {
namespace {

std::string be32(int32_t v) {
  std::string s;
  for (int i = 0; i < 4; ++i)
    s += static_cast<char>(static_cast<uint32_t>(v) >> (24 - 8 * i));
  return s;
}
std::string be16(int16_t v) {
  return std::string{static_cast<char>(static_cast<uint16_t>(v) >> 8), static_cast<char>(v & 0xff)};
}

TEST(PgwireCodec, StartupPacket) {
  std::string body = be32(kProtocolVersion3) + "user" + '\0' + "me" + '\0' + "database" + '\0' +
                     "eddy" + '\0' + '\0';
  auto packet = parse_startup(body);
  ASSERT_TRUE(packet);
  EXPECT_EQ(packet->code, kProtocolVersion3);
  EXPECT_EQ(packet->params.at("user"), "me");
  EXPECT_EQ(packet->params.at("database"), "eddy");
  EXPECT_FALSE(parse_startup(be32(kProtocolVersion3) + "user"));  // unterminated
  auto cancel = parse_startup(be32(kCancelRequestCode) + be32(7) + be32(9));
  ASSERT_TRUE(cancel);
  EXPECT_EQ(cancel->cancel_pid, 7);
  EXPECT_EQ(cancel->cancel_secret, 9);
}

TEST(PgwireCodec, BindWithNullAndBinaryParameters) {
  std::string body = std::string("p") + '\0' + "s" + '\0' + be16(1) + be16(1) + be16(2) + be32(4) +
                     be32(42) + be32(-1) + be16(1) + be16(1);
  auto bind = parse_bind(body);
  ASSERT_TRUE(bind);
  EXPECT_EQ(bind->portal, "p");
  ASSERT_EQ(bind->params.size(), 2u);
  EXPECT_FALSE(bind->params[1]);
  auto v = decode_param(sql::Type::kInt8, *bind->params[0], format_for(bind->param_formats, 0), 23);
  ASSERT_TRUE(v.ok());
  EXPECT_EQ(v->type, sql::Type::kInt8);
  EXPECT_EQ(v->i, 42);
}

TEST(PgwireCodec, LengthsAreBounded) {
  // A parameter claiming more bytes than the message holds.
  std::string body = std::string("") + '\0' + "" + '\0' + be16(0) + be16(1) + be32(1000) + "ab";
  EXPECT_FALSE(parse_bind(body));
  EXPECT_FALSE(parse_bind(std::string("") + '\0' + "" + '\0' + be16(-1)));
  EXPECT_FALSE(parse_execute("x"));
  EXPECT_FALSE(parse_describe(std::string("Q") + "n" + '\0'));
  EXPECT_FALSE(decode_param(sql::Type::kInt4, "abc", 1, 23).ok());
  // Text is UTF-8 (the client encoding): other bytes are refused, in either format.
  auto invalid = decode_param(sql::Type::kText, "a\xbd", 0, 25);
  ASSERT_FALSE(invalid.ok());
  EXPECT_EQ(invalid.error().sqlstate, "22021");
  EXPECT_FALSE(decode_param(sql::Type::kText, "a\xbd", 1, 25).ok());
  EXPECT_FALSE(decode_param(sql::Type::kInt4,
                            "\xff"
                            "1",
                            0, 23)
                   .ok());
  EXPECT_TRUE(decode_param(sql::Type::kText, "h\xc3\xa9", 0, 25).ok());
}

TEST(PgwireCodec, BackendMessages) {
  std::string out;
  Writer w(out);
  w.ready_for_query('I');
  EXPECT_EQ(out, std::string("Z") + be32(5) + "I");
  out.clear();
  w.data_row({sql::Value::integer(sql::Type::kInt4, 7), sql::Value::null_of(sql::Type::kText)},
             {1});
  EXPECT_EQ(out, std::string("D") + be32(4 + 2 + 8 + 4) + be16(2) + be32(4) + be32(7) + be32(-1));
  out.clear();
  w.error("ERROR", "22012", "division by zero", 10);
  EXPECT_EQ(out[0], 'E');
  EXPECT_NE(out.find(std::string("C22012") + '\0'), std::string::npos);
  EXPECT_NE(out.find(std::string("P10") + '\0'), std::string::npos);
  EXPECT_EQ(out.find(std::string("H")), std::string::npos);
  out.clear();
  // Fields in PostgreSQL's order: ... message, detail, hint, position.
  w.error("ERROR", "0A000", "no pg_class", 15, "", "use SHOW TABLES");
  const std::string fields =
      std::string("Mno pg_class") + '\0' + "Huse SHOW TABLES" + '\0' + "P15" + '\0' + '\0';
  EXPECT_EQ(out.substr(out.size() - fields.size()), fields);
}

}  // namespace
}  // namespace eddy::pgwire
