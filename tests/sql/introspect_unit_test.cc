// Introspection helpers through a storage-less Session (EXPLAIN, SHOW forms, functions), and the
// identifier quoting and plan rendering they share with the stream engine.
#include <gtest/gtest.h>

#include <filesystem>

#include "sql/binder.h"
#include "sql/explain.h"
#include "sql/session.h"

namespace eddy::sql {
namespace {

TEST(QuoteIdentifier, QuotesLikePostgres) {
  EXPECT_EQ(quote_identifier("orders"), "orders");
  EXPECT_EQ(quote_identifier("_t1"), "_t1");
  EXPECT_EQ(quote_identifier("views"), "views");  // an unreserved keyword
  EXPECT_EQ(quote_identifier("select"), "\"select\"");
  EXPECT_EQ(quote_identifier("user"), "\"user\"");
  EXPECT_EQ(quote_identifier("Orders"), "\"Orders\"");
  EXPECT_EQ(quote_identifier("1st"), "\"1st\"");
  EXPECT_EQ(quote_identifier("a\"b"), "\"a\"\"b\"");
  EXPECT_EQ(quote_identifier(""), "\"\"");
}

TEST(ViewQueryText, TakesTheQueryAfterTheTopLevelAs) {
  EXPECT_EQ(view_query_text("CREATE MATERIALIZED VIEW v AS SELECT a AS b FROM t"),
            "SELECT a AS b FROM t");
  EXPECT_EQ(view_query_text("CREATE MATERIALIZED VIEW v WITH (topic = 'as') AS\n  SELECT 1 ;"),
            "SELECT 1");
  EXPECT_EQ(view_query_text("create materialized view \"as\" as select x from t"),
            "select x from t");
}

TEST(RenderExplain, IndentsLikePostgres) {
  ExplainNode scan{"Scan", {"Filter: x"}, {}};
  ExplainNode sort{"Sort", {"Sort Key: a"}, {scan}};
  ExplainNode limit{"Limit", {}, {sort}};
  EXPECT_EQ(render_explain(limit),
            (std::vector<std::string>{"Limit", "  ->  Sort", "        Sort Key: a",
                                      "        ->  Scan", "              Filter: x"}));
  EXPECT_EQ(partition_range(0), "none");
  EXPECT_EQ(partition_range(1), "0");
  EXPECT_EQ(partition_range(4), "0-3");
}

class IntrospectSession : public ::testing::Test {
 protected:
  void SetUp() override {
    auto engine = Engine::open(EngineOptions{});
    ASSERT_TRUE(engine.ok());
    engine_ = std::move(*engine);
    session_ = std::make_unique<Session>(
        *engine_,
        std::map<std::string, std::string>{{"user", "alice"}, {"TimeZone", "Asia/Tokyo"}});
    session_->set_backend_pid(4242);
  }
  std::vector<std::string> column(const std::string& sql) {
    auto out = session_->execute_simple(sql);
    EXPECT_FALSE(out.error) << sql << ": " << (out.error ? out.error->message : "");
    std::vector<std::string> values;
    if (out.results.empty()) return values;
    for (const auto& row : out.results.back().rows)
      values.push_back(row[0].null ? "NULL" : to_text(row[0]));
    return values;
  }
  SqlError error(const std::string& sql) {
    auto out = session_->execute_simple(sql);
    EXPECT_TRUE(out.error) << sql;
    return out.error.value_or(SqlError{});
  }
  std::unique_ptr<Engine> engine_;
  std::unique_ptr<Session> session_;
};

TEST_F(IntrospectSession, FunctionsAnswerFromTheSession) {
  EXPECT_EQ(column("SELECT pg_backend_pid()"), std::vector<std::string>{"4242"});
  EXPECT_EQ(column("SELECT current_user"), std::vector<std::string>{"alice"});
  EXPECT_EQ(column("SELECT session_user"), std::vector<std::string>{"alice"});
  EXPECT_EQ(column("SHOW TimeZone"), std::vector<std::string>{"UTC"});
  EXPECT_EQ(column("SELECT current_database()"), std::vector<std::string>{"eddy"});
}

TEST_F(IntrospectSession, ExplainWithoutTables) {
  EXPECT_EQ(column("EXPLAIN SELECT 1 + 1 AS two ORDER BY 1 LIMIT 1"),
            (std::vector<std::string>{"Limit", "  ->  Sort", "        Sort Key: 2",
                                      "        ->  Result"}));
  EXPECT_EQ(error("EXPLAIN ANALYZE SELECT 1").sqlstate, "0A000");
  // Without a stream engine there is no dataflow to describe.
  EXPECT_EQ(error("EXPLAIN CREATE MATERIALIZED VIEW v AS SELECT 1").sqlstate, "0A000");
}

TEST_F(IntrospectSession, SystemRelationsWithoutTables) {
  EXPECT_EQ(column("SELECT count(*) FROM information_schema.tables"),
            std::vector<std::string>{"0"});
  const SqlError e = error("SELECT 1 FROM x JOIN pg_catalog.pg_attribute a ON true");
  EXPECT_EQ(e.sqlstate, "0A000");
  EXPECT_EQ(e.location, 21);
  EXPECT_FALSE(e.hint.empty());
  EXPECT_EQ(error("SHOW COLUMNS FROM nowhere").location, 18);
}

}  // namespace
}  // namespace eddy::sql
