#include <doctest/doctest.h>

#include "src/core/conversation_memory.hpp"

using namespace opsgate;

TEST_SUITE("core/conversation_memory") {
  const auto t0 = std::chrono::system_clock::time_point{std::chrono::seconds{1764000000}};

  TEST_CASE("keeps the last N turns per thread, oldest first") {
    ConversationMemory memory(ConversationLimits{2, 100, std::chrono::minutes(30), 10});
    memory.remember("t1", {"a", "1"}, t0);
    memory.remember("t1", {"b", "2"}, t0);
    memory.remember("t1", {"c", "3"}, t0);
    memory.remember("t2", {"x", "9"}, t0);
    const auto turns = memory.recent("t1", t0);
    REQUIRE(turns.size() == 2);
    CHECK(turns[0].user_text == "b");
    CHECK(turns[1].understood == "3");
    CHECK(memory.recent("t2", t0).size() == 1);
    CHECK(memory.recent("t3", t0).empty());
  }

  TEST_CASE("old turns are no context, long text is cut at a character boundary") {
    ConversationMemory memory(ConversationLimits{4, 2, std::chrono::minutes(30), 10});
    memory.remember("t", {"héllo world", "ok"}, t0);
    memory.remember("t", {"later", "ok"}, t0 + std::chrono::minutes(20));
    auto turns = memory.recent("t", t0 + std::chrono::minutes(40));
    REQUIRE(turns.size() == 1);
    CHECK(turns[0].user_text == "la");
    turns = memory.recent("t", t0);
    CHECK(turns[0].user_text == "h");  // two bytes would split the é
  }

  TEST_CASE("the least recently written thread is forgotten first, 0 turns remembers nothing") {
    ConversationMemory memory(ConversationLimits{4, 100, std::chrono::minutes(30), 2});
    memory.remember("a", {"1", ""}, t0);
    memory.remember("b", {"2", ""}, t0);
    memory.remember("a", {"3", ""}, t0);
    memory.remember("c", {"4", ""}, t0);  // b goes
    CHECK(memory.recent("a", t0).size() == 2);
    CHECK(memory.recent("b", t0).empty());
    CHECK(memory.recent("c", t0).size() == 1);
    ConversationMemory off(ConversationLimits{0, 100, std::chrono::minutes(30), 2});
    off.remember("a", {"1", ""}, t0);
    CHECK(off.recent("a", t0).empty());
  }
}
