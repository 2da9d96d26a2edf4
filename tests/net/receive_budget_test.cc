#include "net/receive_budget.h"

#include <gtest/gtest.h>

namespace eddy::net {
namespace {

TEST(ReceiveBudget, ReservesWithinTheLimitAndWaitsBeyondIt) {
  ReceiveBudget budget(100);
  ReceiveBudget::Ticket ticket = 0;
  int woken = 0;
  EXPECT_TRUE(budget.reserve_or_wait(
      60, [&] { ++woken; }, &ticket));
  EXPECT_TRUE(budget.reserve_or_wait(
      40, [&] { ++woken; }, &ticket));
  EXPECT_EQ(budget.held(), 100u);
  EXPECT_FALSE(budget.reserve_or_wait(
      1, [&] { ++woken; }, &ticket));
  EXPECT_EQ(budget.waits(), 1u);
  EXPECT_EQ(woken, 0);
  budget.release(40);
  EXPECT_EQ(woken, 1) << "a release wakes the waiter once";
  budget.release(10);
  EXPECT_EQ(woken, 1);
  EXPECT_EQ(budget.held(), 50u);
}

TEST(ReceiveBudget, OneReservationLargerThanTheLimitProceedsAlone) {
  ReceiveBudget budget(100);
  ReceiveBudget::Ticket ticket = 0;
  EXPECT_TRUE(budget.reserve_or_wait(
      500, [] {}, &ticket));
  EXPECT_FALSE(budget.reserve_or_wait(
      1, [] {}, &ticket));
  budget.release(500);
  EXPECT_EQ(budget.held(), 0u);
}

TEST(ReceiveBudget, ACanceledWaiterIsNotWoken) {
  ReceiveBudget budget(10);
  ReceiveBudget::Ticket first = 0;
  ReceiveBudget::Ticket second = 0;
  int first_woken = 0;
  int second_woken = 0;
  EXPECT_TRUE(budget.reserve_or_wait(
      10, [] {}, &first));
  EXPECT_FALSE(budget.reserve_or_wait(
      5, [&] { ++first_woken; }, &first));
  EXPECT_FALSE(budget.reserve_or_wait(
      5, [&] { ++second_woken; }, &second));
  EXPECT_NE(first, second);
  budget.cancel_wait(first);
  budget.release(10);
  EXPECT_EQ(first_woken, 0);
  EXPECT_EQ(second_woken, 1);
  budget.cancel_wait(second);  // already woken: nothing to forget, no harm
}

}  // namespace
}  // namespace eddy::net
