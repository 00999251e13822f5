// Tests for TimeoutList (engine/loop/timeout_list.h): a fixed-duration list
// stays sorted by deadline because (re)arming appends at the tail; expire()
// fires only due nodes, in order, and survives callbacks that cancel, arm or
// destroy nodes (including their own). Time is passed in, so no sleeps.
#include "engine/loop/timeout_list.h"

#include <gtest/gtest.h>

#include <functional>
#include <memory>
#include <string>
#include <vector>

namespace plexgate::loop {
namespace {

// What a Session looks like to the list: an owner with an embedded node.
struct Conn {
  Conn(std::string n, std::vector<std::string>* log) : name(std::move(n)), fired(log) {}

  static void onTimeout(TimeoutNode& node) {
    Conn& self = *static_cast<Conn*>(node.owner());
    self.fired->push_back(self.name);
    if (self.then) {
      self.then(self);
    }
  }

  std::string name;
  std::vector<std::string>* fired;
  std::function<void(Conn&)> then;  // extra work done inside the callback
  TimeoutNode node{&Conn::onTimeout, this};
};

void countFirst(void* ctx) { ++*static_cast<int*>(ctx); }

class TimeoutListTest : public ::testing::Test {
 protected:
  std::unique_ptr<Conn> make(const std::string& name) { return std::make_unique<Conn>(name, &fired_); }

  int first_calls_ = 0;
  TimeoutList list_{100, &countFirst, &first_calls_};
  std::vector<std::string> fired_;
};

using Names = std::vector<std::string>;

TEST_F(TimeoutListTest, ArmOrderIsDeadlineOrder) {
  auto a = make("a");
  auto b = make("b");
  auto c = make("c");
  EXPECT_TRUE(list_.empty());
  EXPECT_EQ(list_.nextDeadline(), 0u);
  list_.arm(a->node, 0);
  list_.arm(b->node, 10);
  list_.arm(c->node, 20);
  EXPECT_FALSE(list_.empty());
  EXPECT_TRUE(a->node.armed());
  EXPECT_EQ(a->node.list(), &list_);
  EXPECT_EQ(a->node.deadline(), 100u);
  EXPECT_EQ(b->node.deadline(), 110u);
  EXPECT_EQ(c->node.deadline(), 120u);
  EXPECT_EQ(list_.nextDeadline(), 100u);
  EXPECT_EQ(list_.expire(1000), 0u);
  EXPECT_EQ(fired_, (Names{"a", "b", "c"}));
  EXPECT_TRUE(list_.empty());
  EXPECT_FALSE(a->node.armed());
  EXPECT_EQ(a->node.list(), nullptr);
}

TEST_F(TimeoutListTest, OnFirstRunsWhenTheListStopsBeingEmpty) {
  auto a = make("a");
  auto b = make("b");
  list_.arm(a->node, 0);
  EXPECT_EQ(first_calls_, 1);
  list_.arm(b->node, 5);
  EXPECT_EQ(first_calls_, 1);  // already had a head
  a->node.cancel();
  b->node.cancel();
  EXPECT_TRUE(list_.empty());
  list_.arm(b->node, 7);
  EXPECT_EQ(first_calls_, 2);

  TimeoutList quiet(10, nullptr, nullptr);  // no callback is fine too
  quiet.arm(a->node, 0);
  EXPECT_EQ(a->node.list(), &quiet);
}

TEST_F(TimeoutListTest, RearmMovesToTail) {
  auto a = make("a");
  auto b = make("b");
  auto c = make("c");
  list_.arm(a->node, 0);
  list_.arm(b->node, 10);
  list_.arm(c->node, 20);
  list_.arm(a->node, 30);  // activity on a: deadline 130, now last
  EXPECT_EQ(a->node.deadline(), 130u);
  EXPECT_EQ(list_.nextDeadline(), 110u);
  EXPECT_EQ(list_.expire(110), 120u);
  EXPECT_EQ(fired_, (Names{"b"}));
  EXPECT_EQ(list_.expire(129), 130u);
  EXPECT_EQ(fired_, (Names{"b", "c"}));
  EXPECT_EQ(list_.expire(130), 0u);
  EXPECT_EQ(fired_, (Names{"b", "c", "a"}));

  // Re-arming the only node (head and tail at once) keeps it alone.
  list_.arm(b->node, 200);
  list_.arm(b->node, 250);
  EXPECT_EQ(list_.nextDeadline(), 350u);
  EXPECT_EQ(list_.expire(349), 350u);
  EXPECT_EQ(list_.expire(350), 0u);
  EXPECT_EQ(fired_.back(), "b");
}

TEST_F(TimeoutListTest, CancelHeadMiddleAndTail) {
  auto a = make("a");
  auto b = make("b");
  auto c = make("c");
  auto d = make("d");
  list_.arm(a->node, 0);
  list_.arm(b->node, 1);
  list_.arm(c->node, 2);
  list_.arm(d->node, 3);
  b->node.cancel();  // middle
  EXPECT_FALSE(b->node.armed());
  b->node.cancel();  // twice is harmless
  a->node.cancel();  // head
  EXPECT_EQ(list_.nextDeadline(), 102u);
  d->node.cancel();  // tail
  list_.arm(b->node, 4);  // the tail pointer must be right for this to link
  EXPECT_EQ(list_.expire(1000), 0u);
  EXPECT_EQ(fired_, (Names{"c", "b"}));

  auto never = make("never");
  never->node.cancel();  // never armed
  EXPECT_FALSE(never->node.armed());
}

TEST_F(TimeoutListTest, ExpireFiresOnlyDueNodesInOrder) {
  std::vector<std::unique_ptr<Conn>> conns;
  for (int i = 0; i < 10; ++i) {
    conns.push_back(make("n" + std::to_string(i)));
    list_.arm(conns.back()->node, static_cast<uint64_t>(i) * 10);  // deadlines 100, 110, ... 190
  }
  EXPECT_EQ(list_.expire(99), 100u);  // nothing due yet
  EXPECT_TRUE(fired_.empty());
  EXPECT_EQ(list_.expire(100), 110u);  // deadline == now is due
  EXPECT_EQ(fired_, (Names{"n0"}));
  EXPECT_EQ(list_.expire(145), 150u);
  EXPECT_EQ(fired_, (Names{"n0", "n1", "n2", "n3", "n4"}));
  for (int i = 5; i < 10; ++i) {
    EXPECT_TRUE(conns[static_cast<size_t>(i)]->node.armed());
  }
  EXPECT_EQ(list_.expire(10'000), 0u);
  EXPECT_EQ(fired_.size(), 10u);
  EXPECT_EQ(fired_.back(), "n9");
  EXPECT_EQ(list_.expire(20'000), 0u);  // empty list: nothing, no crash
}

TEST_F(TimeoutListTest, CallbackCancelsADueNode) {
  auto a = make("a");
  auto b = make("b");
  auto c = make("c");
  a->then = [&](Conn&) { b->node.cancel(); };
  list_.arm(a->node, 0);
  list_.arm(b->node, 0);
  list_.arm(c->node, 0);
  EXPECT_EQ(list_.expire(100), 0u);
  EXPECT_EQ(fired_, (Names{"a", "c"}));
  EXPECT_FALSE(b->node.armed());
}

TEST_F(TimeoutListTest, CallbackArmsOtherNodesForLater) {
  auto a = make("a");
  auto b = make("b");
  auto c = make("c");
  auto fresh = make("fresh");
  // a's callback extends b (due now) and arms a node that was idle; both
  // go to the tail with deadline now + duration and must not fire this round.
  a->then = [&](Conn&) {
    list_.arm(b->node, 100);
    list_.arm(fresh->node, 100);
  };
  list_.arm(a->node, 0);
  list_.arm(b->node, 0);
  list_.arm(c->node, 0);
  EXPECT_EQ(list_.expire(100), 200u);
  EXPECT_EQ(fired_, (Names{"a", "c"}));
  EXPECT_TRUE(b->node.armed());
  EXPECT_TRUE(fresh->node.armed());
  EXPECT_EQ(list_.expire(200), 0u);
  EXPECT_EQ(fired_, (Names{"a", "c", "b", "fresh"}));
}

TEST_F(TimeoutListTest, CallbackRearmsItself) {
  auto a = make("a");
  a->then = [&](Conn& self) { list_.arm(self.node, 100); };
  list_.arm(a->node, 0);
  EXPECT_EQ(list_.expire(100), 200u);  // fired once, back in the list
  EXPECT_EQ(fired_, (Names{"a"}));
  EXPECT_EQ(list_.expire(150), 200u);
  EXPECT_EQ(fired_.size(), 1u);
  a->then = nullptr;
  EXPECT_EQ(list_.expire(200), 0u);
  EXPECT_EQ(fired_.size(), 2u);
}

TEST_F(TimeoutListTest, CallbackMovesANodeToAnotherList) {
  TimeoutList longer(1000, nullptr, nullptr);
  auto a = make("a");
  auto b = make("b");
  a->then = [&](Conn&) { longer.arm(b->node, 100); };
  list_.arm(a->node, 0);
  list_.arm(b->node, 0);
  EXPECT_EQ(list_.expire(100), 0u);
  EXPECT_EQ(fired_, (Names{"a"}));
  EXPECT_EQ(b->node.list(), &longer);
  EXPECT_EQ(longer.nextDeadline(), 1100u);
}

TEST_F(TimeoutListTest, CallbackDestroysAnotherNode) {
  auto a = make("a");
  auto b = make("b");
  auto c = make("c");
  a->then = [&](Conn&) { b.reset(); };  // the owner dies: its node unlinks itself
  list_.arm(a->node, 0);
  list_.arm(b->node, 0);
  list_.arm(c->node, 0);
  EXPECT_EQ(list_.expire(100), 0u);
  EXPECT_EQ(fired_, (Names{"a", "c"}));
  EXPECT_EQ(b, nullptr);
}

TEST_F(TimeoutListTest, CallbackDestroysItsOwnNode) {
  auto a = make("a");
  auto b = make("b");
  a->then = [&](Conn&) { a.reset(); };  // already unlinked before the call
  list_.arm(a->node, 0);
  list_.arm(b->node, 0);
  EXPECT_EQ(list_.expire(100), 0u);
  EXPECT_EQ(fired_, (Names{"a", "b"}));
  EXPECT_EQ(a, nullptr);
  EXPECT_TRUE(list_.empty());
}

TEST_F(TimeoutListTest, NodeDestructorUnlinksItself) {
  auto a = make("a");
  auto b = make("b");
  auto c = make("c");
  auto d = make("d");
  list_.arm(a->node, 0);
  list_.arm(b->node, 1);
  list_.arm(c->node, 2);
  list_.arm(d->node, 3);
  b.reset();  // middle
  a.reset();  // head
  EXPECT_EQ(list_.nextDeadline(), 102u);
  d.reset();  // tail
  auto e = make("e");
  list_.arm(e->node, 4);
  c.reset();
  EXPECT_EQ(list_.nextDeadline(), 104u);
  e.reset();  // last one
  EXPECT_TRUE(list_.empty());
  EXPECT_EQ(list_.nextDeadline(), 0u);
  EXPECT_EQ(list_.expire(1000), 0u);
  EXPECT_TRUE(fired_.empty());
}

TEST_F(TimeoutListTest, ListDestructorDisarmsNodes) {
  auto a = make("a");
  auto b = make("b");
  {
    TimeoutList temp(5, nullptr, nullptr);
    temp.arm(a->node, 0);
    temp.arm(b->node, 0);
  }
  EXPECT_FALSE(a->node.armed());
  EXPECT_FALSE(b->node.armed());
  list_.arm(a->node, 0);  // and the nodes are reusable
  EXPECT_EQ(list_.expire(100), 0u);
  EXPECT_EQ(fired_, (Names{"a"}));
}

// A reload that shortens a timeout applies it to what is already armed:
// each node moves to its arm time + the new duration, so the list stays in
// deadline order; the loop is told to look at the head again.
TEST_F(TimeoutListTest, SetDurationMovesArmedNodesAndLaterArms) {
  auto a = make("a");
  auto b = make("b");
  auto c = make("c");
  list_.arm(a->node, 0);   // due at 100
  list_.arm(b->node, 30);  // due at 130
  const int firsts = first_calls_;
  list_.setDuration(50);
  EXPECT_EQ(list_.duration(), 50u);
  EXPECT_EQ(a->node.deadline(), 50u);
  EXPECT_EQ(b->node.deadline(), 80u);
  EXPECT_EQ(first_calls_, firsts + 1);
  list_.arm(c->node, 40);  // due at 90: behind b, in order
  EXPECT_EQ(c->node.deadline(), 90u);
  EXPECT_EQ(list_.expire(85), 90u);
  EXPECT_EQ(fired_, (Names{"a", "b"}));
  list_.setDuration(200);  // longer: c moves to 40 + 200
  EXPECT_EQ(c->node.deadline(), 240u);
  EXPECT_EQ(list_.expire(239), 240u);
  EXPECT_EQ(list_.expire(240), 0u);
  EXPECT_EQ(fired_, (Names{"a", "b", "c"}));
}

// Many nodes, random activity: the list always fires in deadline order and
// exactly the nodes whose latest deadline has passed.
TEST_F(TimeoutListTest, RandomActivityKeepsDeadlineOrder) {
  std::vector<std::unique_ptr<Conn>> conns;
  for (int i = 0; i < 64; ++i) {
    conns.push_back(make(std::to_string(i)));
  }
  uint32_t x = 12345;
  const auto next = [&x] {
    x = x * 1664525u + 1013904223u;
    return x >> 8;
  };
  uint64_t now = 0;
  for (int round = 0; round < 2000; ++round) {
    now += next() % 20;
    Conn& c = *conns[next() % conns.size()];
    if (next() % 4 == 0) {
      c.node.cancel();
    } else {
      list_.arm(c.node, now);
    }
    if (next() % 8 == 0) {
      fired_.clear();
      std::vector<uint64_t> due_deadlines;
      // What should fire: armed nodes with deadline <= now.
      size_t expected = 0;
      for (const auto& conn : conns) {
        expected += (conn->node.armed() && conn->node.deadline() <= now) ? 1 : 0;
      }
      uint64_t last = 0;
      for (auto& conn : conns) {
        conn->then = [&last, &due_deadlines](Conn& self) {
          EXPECT_GE(self.node.deadline(), last);
          last = self.node.deadline();
          due_deadlines.push_back(last);
        };
      }
      const uint64_t next_deadline = list_.expire(now);
      ASSERT_EQ(fired_.size(), expected);
      if (next_deadline != 0) {
        EXPECT_GT(next_deadline, now);
      }
      for (const auto& conn : conns) {
        if (conn->node.armed()) {
          EXPECT_GT(conn->node.deadline(), now);
          EXPECT_GE(conn->node.deadline(), next_deadline);
        }
        conn->then = nullptr;
      }
    }
  }
}

}  // namespace
}  // namespace plexgate::loop
