// Tests for BufferChain and SlicePool (engine/buf/): copies merge into the
// tail slice, references are zero-copy and pin their slices, and every test
// ends with the pool's outstanding() back at zero, so a leaked or double
// released reference fails the test that caused it.
#include "engine/buf/buffer_chain.h"

#include <gtest/gtest.h>

#include <sys/uio.h>

#include <algorithm>
#include <cstring>
#include <string>
#include <string_view>
#include <vector>

#include "engine/buf/slice.h"

namespace plexgate::buf {
namespace {

std::string pattern(size_t n, uint32_t seed = 1) {
  std::string s(n, '\0');
  uint32_t x = seed * 2654435761u + 1;
  for (size_t i = 0; i < n; ++i) {
    x = x * 1664525u + 1013904223u;
    s[i] = static_cast<char>('a' + (x >> 24) % 26);
  }
  return s;
}

// A pooled slice holding `bytes` at its start.
SliceRef sliceWith(SlicePool& pool, std::string_view bytes) {
  SliceRef s(pool.acquire());
  std::memcpy(s->data(), bytes.data(), bytes.size());
  return s;
}

class BufferChainTest : public ::testing::Test {
 protected:
  void TearDown() override { EXPECT_EQ(pool_.outstanding(), 0u) << "a slice reference leaked"; }

  SlicePool pool_;
};

TEST_F(BufferChainTest, EmptyChain) {
  BufferChain chain(pool_);
  EXPECT_TRUE(chain.empty());
  EXPECT_EQ(chain.size(), 0u);
  EXPECT_EQ(chain.pieceCount(), 0u);
  EXPECT_EQ(chain.toString(), "");
  iovec iov[4];
  EXPECT_EQ(chain.toIovecs(iov, 4), 0u);
  chain.drain(10);  // draining nothing is harmless
  EXPECT_TRUE(chain.empty());
  EXPECT_EQ(&chain.pool(), &pool_);
  EXPECT_EQ(pool_.outstanding(), 0u);  // no slice until the first byte
}

TEST_F(BufferChainTest, AppendCopyMergesContiguousPieces) {
  BufferChain chain(pool_);
  chain.appendCopy("GET / HTTP/1.1\r\n");
  chain.appendCopy("Host: a\r\n");
  chain.appendCopy("");
  chain.appendCopy("\r\n");
  EXPECT_EQ(chain.pieceCount(), 1u);
  EXPECT_EQ(chain.size(), 27u);
  EXPECT_EQ(chain.toString(), "GET / HTTP/1.1\r\nHost: a\r\n\r\n");
  EXPECT_EQ(pool_.outstanding(), 1u);
  EXPECT_EQ(chain.piece(0).len, 27u);
  EXPECT_EQ(chain.piece(0).data, chain.piece(0).owner->data());
}

// releaseTail() lets go of the chain's own reference to the slice it
// copies into; pieces still written from it keep it alive, and the next
// copy takes a fresh slice.
TEST_F(BufferChainTest, ReleaseTailDropsOnlyTheChainsOwnReference) {
  BufferChain chain(pool_);
  chain.appendCopy("head");
  EXPECT_EQ(pool_.outstanding(), 1u);
  chain.releaseTail();
  EXPECT_EQ(pool_.outstanding(), 1u);  // the piece still points into it
  EXPECT_EQ(chain.toString(), "head");
  chain.clear();
  EXPECT_EQ(pool_.outstanding(), 0u);  // idle: the chain holds no slice
  chain.appendCopy("next");
  EXPECT_EQ(pool_.outstanding(), 1u);
  EXPECT_EQ(chain.toString(), "next");
  chain.clear();
  chain.releaseTail();
}

TEST_F(BufferChainTest, AppendCopyDoesNotMergeAcrossAReference) {
  BufferChain chain(pool_);
  SliceRef body = sliceWith(pool_, "BODY");
  chain.appendCopy("head");
  chain.appendRef(body, body->data(), 4);
  chain.appendCopy("tail");
  EXPECT_EQ(chain.pieceCount(), 3u);
  EXPECT_EQ(chain.toString(), "headBODYtail");
  // The copies share the chain's tail slice but are not adjacent in the chain.
  EXPECT_EQ(chain.piece(0).owner.get(), chain.piece(2).owner.get());
  EXPECT_EQ(chain.piece(0).data + 4, chain.piece(2).data);
}

TEST_F(BufferChainTest, AppendRefIsZeroCopyAndPinsTheSlice) {
  SliceRef s = sliceWith(pool_, "hello world");
  Slice* raw = s.get();
  EXPECT_EQ(raw->refs, 1u);
  {
    BufferChain chain(pool_);
    chain.appendRef(s, s->data() + 6, 5);
    ASSERT_EQ(chain.pieceCount(), 1u);
    EXPECT_EQ(chain.piece(0).data, raw->data() + 6);  // same bytes, not a copy
    EXPECT_EQ(chain.piece(0).owner.get(), raw);
    EXPECT_EQ(raw->refs, 2u);
    EXPECT_EQ(chain.toString(), "world");

    // The chain keeps the bytes alive after the producer lets go.
    s.reset();
    EXPECT_EQ(raw->refs, 1u);
    EXPECT_EQ(pool_.outstanding(), 1u);
    EXPECT_EQ(chain.toString(), "world");
    chain.drain(5);
    EXPECT_EQ(pool_.outstanding(), 0u);  // last reference gone with the bytes
    EXPECT_EQ(pool_.cached(), 1u);
  }
}

TEST_F(BufferChainTest, AppendRefMergesOnlyContiguousViewsOfTheSameSlice) {
  SliceRef s = sliceWith(pool_, "0123456789");
  SliceRef t = sliceWith(pool_, "abcdefghij");
  BufferChain chain(pool_);
  chain.appendRef(s, s->data(), 3);
  chain.appendRef(s, s->data() + 3, 4);  // contiguous: merged, no extra ref
  EXPECT_EQ(chain.pieceCount(), 1u);
  EXPECT_EQ(s->refs, 2u);
  chain.appendRef(s, s->data() + 8, 2);  // gap: new piece
  EXPECT_EQ(chain.pieceCount(), 2u);
  EXPECT_EQ(s->refs, 3u);
  chain.appendRef(t, t->data() + 10, 0);  // empty: ignored entirely
  EXPECT_EQ(chain.pieceCount(), 2u);
  EXPECT_EQ(t->refs, 1u);
  // Adjacent in memory but owned by another slice: never merged.
  chain.appendRef(t, s->data() + 10, 0);
  chain.appendRef(t, t->data(), 2);
  EXPECT_EQ(chain.pieceCount(), 3u);
  EXPECT_EQ(chain.toString(), "012345689ab");
  chain.clear();
  EXPECT_EQ(s->refs, 1u);
  EXPECT_EQ(t->refs, 1u);
}

TEST_F(BufferChainTest, AppendExternalIsByReferenceWithoutOwner) {
  static const char kStatic[] = "HTTP/1.1 200 OK\r\n";
  BufferChain chain(pool_);
  chain.appendExternal(std::string_view(kStatic, 9));
  chain.appendExternal(std::string_view(kStatic + 9, 8));  // contiguous: merged
  ASSERT_EQ(chain.pieceCount(), 1u);
  EXPECT_EQ(chain.piece(0).data, kStatic);
  EXPECT_FALSE(chain.piece(0).owner);
  EXPECT_EQ(chain.size(), 17u);
  EXPECT_EQ(pool_.outstanding(), 0u);
}

TEST_F(BufferChainTest, DrainPartialAndWhole) {
  SliceRef a = sliceWith(pool_, "abc");
  SliceRef b = sliceWith(pool_, "defg");
  BufferChain chain(pool_);
  chain.appendRef(a, a->data(), 3);
  chain.appendRef(b, b->data(), 4);
  EXPECT_EQ(a->refs, 2u);

  chain.drain(2);  // inside the first piece
  EXPECT_EQ(chain.size(), 5u);
  EXPECT_EQ(chain.pieceCount(), 2u);
  EXPECT_EQ(chain.piece(0).data, a->data() + 2);
  EXPECT_EQ(chain.piece(0).len, 1u);
  EXPECT_EQ(a->refs, 2u);  // still partly in use
  EXPECT_EQ(chain.toString(), "cdefg");

  chain.drain(1);  // exactly the rest of the first piece
  EXPECT_EQ(chain.pieceCount(), 1u);
  EXPECT_EQ(a->refs, 1u);
  EXPECT_EQ(chain.toString(), "defg");

  chain.drain(3);
  EXPECT_EQ(chain.toString(), "g");
  EXPECT_EQ(chain.piece(0).data, b->data() + 3);

  chain.drain(100);  // more than there is
  EXPECT_TRUE(chain.empty());
  EXPECT_EQ(chain.pieceCount(), 0u);
  EXPECT_EQ(b->refs, 1u);
}

TEST_F(BufferChainTest, DrainAcrossManyPiecesKeepsOrder) {
  // Non-adjacent views (every other byte) so nothing merges: 200 pieces,
  // enough to pass the compaction threshold several times.
  SliceRef s(pool_.acquire());
  for (size_t i = 0; i < 400; ++i) {
    s->data()[i] = static_cast<char>('A' + i % 26);
  }
  BufferChain chain(pool_);
  std::string expected;
  for (size_t i = 0; i < 400; i += 2) {
    chain.appendRef(s, s->data() + i, 1);
    expected += s->data()[i];
  }
  ASSERT_EQ(chain.pieceCount(), 200u);
  EXPECT_EQ(s->refs, 201u);
  size_t step = 1;
  while (chain.size() > 60) {
    chain.drain(step);
    expected.erase(0, step);
    ASSERT_EQ(chain.toString(), expected);
    ASSERT_EQ(chain.size(), expected.size());
    ASSERT_EQ(chain.pieceCount(), expected.size());
    ASSERT_EQ(s->refs, 1u + expected.size());
    step = step % 7 + 1;
  }
  // Appending while drained pieces still sit at the front keeps working.
  chain.appendCopy("xyz");
  expected += "xyz";
  EXPECT_EQ(chain.pieceCount(), expected.size() - 2);
  while (!chain.empty()) {
    const size_t n = std::min(step, chain.size());
    chain.drain(n);
    expected.erase(0, n);
    ASSERT_EQ(chain.toString(), expected);
    step = step % 7 + 1;
  }
  EXPECT_EQ(s->refs, 1u);
}

TEST_F(BufferChainTest, MoveFromTransfersPiecesWithoutCopying) {
  SliceRef body = sliceWith(pool_, "0123456789");
  BufferChain a(pool_);
  BufferChain b(pool_);
  a.appendCopy("head|");
  b.appendRef(body, body->data(), 4);
  b.appendRef(body, body->data() + 6, 4);
  const char* first = b.piece(0).data;
  EXPECT_EQ(body->refs, 3u);

  a.moveFrom(b);
  EXPECT_EQ(a.toString(), "head|01236789");
  EXPECT_EQ(a.size(), 13u);
  EXPECT_EQ(a.pieceCount(), 3u);
  EXPECT_EQ(a.piece(1).data, first);
  EXPECT_EQ(body->refs, 3u);  // moved, not copied
  EXPECT_TRUE(b.empty());
  EXPECT_EQ(b.size(), 0u);
  EXPECT_EQ(b.pieceCount(), 0u);

  // Both chains stay usable.
  b.appendCopy("more");
  a.moveFrom(b);
  EXPECT_EQ(a.toString(), "head|01236789more");
  a.moveFrom(b);  // moving an empty chain is a no-op
  EXPECT_EQ(a.size(), 17u);
}

// The source keeps its tail slice after moveFrom; what it copies next must
// land after the bytes it gave away, not on top of them.
TEST_F(BufferChainTest, MoveFromThenAppendToSourceDoesNotClobber) {
  BufferChain a(pool_);
  BufferChain b(pool_);
  b.appendCopy("first-bytes");
  a.moveFrom(b);
  b.appendCopy("second");
  EXPECT_EQ(a.toString(), "first-bytes");
  EXPECT_EQ(b.toString(), "second");
  EXPECT_EQ(a.piece(0).owner.get(), b.piece(0).owner.get());  // one shared slice
  // The destination copying next uses its own tail, not the shared one.
  a.appendCopy("+a");
  EXPECT_EQ(a.toString(), "first-bytes+a");
  EXPECT_EQ(b.toString(), "second");
  b.drain(b.size());
  b.appendCopy("third");
  EXPECT_EQ(a.toString(), "first-bytes+a");
  EXPECT_EQ(b.toString(), "third");
}

TEST_F(BufferChainTest, MoveFromMergesContiguousBoundary) {
  SliceRef s = sliceWith(pool_, "abcdef");
  BufferChain a(pool_);
  BufferChain b(pool_);
  a.appendRef(s, s->data(), 3);
  b.appendRef(s, s->data() + 3, 3);
  a.moveFrom(b);
  EXPECT_EQ(a.pieceCount(), 1u);
  EXPECT_EQ(a.toString(), "abcdef");
  EXPECT_EQ(s->refs, 2u);  // the merged-in piece's reference was dropped
}

TEST_F(BufferChainTest, MoveConstructionKeepsBytesAndRefs) {
  SliceRef s = sliceWith(pool_, "xyz");
  BufferChain a(pool_);
  a.appendRef(s, s->data(), 3);
  a.appendCopy("!");
  BufferChain b(std::move(a));
  EXPECT_EQ(b.toString(), "xyz!");
  EXPECT_EQ(s->refs, 2u);
}

TEST_F(BufferChainTest, ToIovecs) {
  SliceRef s = sliceWith(pool_, "0123456789");
  BufferChain chain(pool_);
  chain.appendRef(s, s->data(), 2);
  chain.appendRef(s, s->data() + 4, 3);
  chain.appendCopy("tail");
  iovec iov[8];
  ASSERT_EQ(chain.toIovecs(iov, 8), 3u);
  EXPECT_EQ(iov[0].iov_base, s->data());
  EXPECT_EQ(iov[0].iov_len, 2u);
  EXPECT_EQ(iov[1].iov_base, s->data() + 4);
  EXPECT_EQ(iov[1].iov_len, 3u);
  EXPECT_EQ(std::string(static_cast<const char*>(iov[2].iov_base), iov[2].iov_len), "tail");

  // Fewer slots than pieces: fills what it may.
  ASSERT_EQ(chain.toIovecs(iov, 2), 2u);
  EXPECT_EQ(chain.toIovecs(iov, 0), 0u);

  // After a partial drain the first iovec starts at the new front.
  chain.drain(3);
  ASSERT_EQ(chain.toIovecs(iov, 8), 2u);
  EXPECT_EQ(iov[0].iov_base, s->data() + 5);
  EXPECT_EQ(iov[0].iov_len, 2u);
  size_t total = 0;
  for (size_t i = 0; i < 2; ++i) {
    total += iov[i].iov_len;
  }
  EXPECT_EQ(total, chain.size());
}

TEST_F(BufferChainTest, TakeFrontPinsPiecesForAWrite) {
  SliceRef a = sliceWith(pool_, "aaaa");
  SliceRef b = sliceWith(pool_, "bbbb");
  BufferChain chain(pool_);
  chain.appendRef(a, a->data(), 4);
  chain.appendRef(b, b->data(), 4);
  chain.appendCopy("cc");
  std::vector<BufferChain::Piece> in_flight;
  chain.takeFront(2, in_flight);
  ASSERT_EQ(in_flight.size(), 2u);
  EXPECT_EQ(in_flight[0].data, a->data());
  EXPECT_EQ(in_flight[1].owner.get(), b.get());
  EXPECT_EQ(chain.size(), 2u);
  EXPECT_EQ(chain.pieceCount(), 1u);
  EXPECT_EQ(chain.toString(), "cc");
  EXPECT_EQ(a->refs, 2u);  // the write owns the chain's reference now

  a.reset();
  b.reset();
  EXPECT_EQ(pool_.outstanding(), 3u);  // a, b and the chain's tail
  in_flight.clear();                   // write_cb: the bytes can go
  EXPECT_EQ(pool_.outstanding(), 1u);

  // Taking more than there is takes everything and leaves an empty chain.
  chain.takeFront(5, in_flight);
  EXPECT_EQ(in_flight.size(), 1u);
  EXPECT_TRUE(chain.empty());
  EXPECT_EQ(chain.pieceCount(), 0u);
  chain.appendCopy("again");
  EXPECT_EQ(chain.toString(), "again");
}

TEST_F(BufferChainTest, ReserveAndCommitWriteInPlace) {
  BufferChain chain(pool_);
  char* p = chain.reserve(100);
  std::memcpy(p, "0123456789", 10);
  chain.commit(10);
  ASSERT_EQ(chain.pieceCount(), 1u);
  EXPECT_EQ(chain.piece(0).data, p);
  char* q = chain.reserve(50);
  EXPECT_EQ(q, p + 10);  // continues in the same slice
  std::memcpy(q, "abc", 3);
  chain.commit(3);
  EXPECT_EQ(chain.pieceCount(), 1u);  // and merges with the piece before it
  EXPECT_EQ(chain.toString(), "0123456789abc");
  chain.reserve(10);
  chain.commit(0);  // nothing used
  EXPECT_EQ(chain.size(), 13u);
  // A reservation that does not fit the tail starts a new slice.
  char* r = chain.reserve(kDefaultSliceSize);
  EXPECT_NE(r, p + 13);
  std::memset(r, 'z', kDefaultSliceSize);
  chain.commit(kDefaultSliceSize);
  EXPECT_EQ(chain.pieceCount(), 2u);
  EXPECT_EQ(chain.size(), 13 + kDefaultSliceSize);
  EXPECT_EQ(pool_.outstanding(), 2u);
}

// Slices carry kSlicePadding readable bytes past their capacity.
TEST_F(BufferChainTest, ReservedBytesAreFollowedByPadding) {
  BufferChain chain(pool_);
  char* p = chain.reserve(kDefaultSliceSize);
  std::memset(p, 'a', kDefaultSliceSize + kSlicePadding);  // in bounds under ASan
  chain.commit(kDefaultSliceSize);
  EXPECT_EQ(chain.piece(0).owner->capacity, kDefaultSliceSize);
}

TEST_F(BufferChainTest, LargeAppendCopySpansSlices) {
  const std::string big = pattern(2 * kDefaultSliceSize + 5000);
  BufferChain chain(pool_);
  chain.appendCopy("x");
  chain.appendCopy(big);
  EXPECT_EQ(chain.size(), big.size() + 1);
  EXPECT_EQ(chain.toString(), "x" + big);
  size_t total = 0;
  for (size_t i = 0; i < chain.pieceCount(); ++i) {
    EXPECT_LE(chain.piece(i).len, kDefaultSliceSize);
    EXPECT_EQ(chain.piece(i).owner->pool, &pool_);
    total += chain.piece(i).len;
  }
  EXPECT_EQ(total, chain.size());
  EXPECT_GE(chain.pieceCount(), 3u);
  EXPECT_LE(chain.pieceCount(), 4u);
  EXPECT_EQ(pool_.outstanding(), chain.pieceCount());

  chain.drain(chain.size() - 10);
  EXPECT_EQ(chain.toString(), big.substr(big.size() - 10));
}

TEST_F(BufferChainTest, TailSliceIsReusedOnlyWhenNothingElseHoldsIt) {
  BufferChain chain(pool_);
  chain.appendCopy(pattern(kDefaultSliceSize - 100));
  Slice* first = chain.piece(0).owner.get();
  chain.drain(chain.size());
  // Drained and unshared: the next copy that does not fit starts over in it.
  chain.appendCopy(pattern(1000, 2));
  EXPECT_EQ(chain.piece(0).owner.get(), first);
  EXPECT_EQ(chain.piece(0).data, first->data());
  EXPECT_EQ(pool_.outstanding(), 1u);
  EXPECT_EQ(chain.toString(), pattern(1000, 2));

  // Now someone else pins the bytes (a write in flight): no reuse.
  std::vector<BufferChain::Piece> in_flight;
  chain.appendCopy(pattern(kDefaultSliceSize - 1000 - 10, 3));
  chain.takeFront(chain.pieceCount(), in_flight);
  const std::string pinned(in_flight[0].data, in_flight[0].len);
  chain.appendCopy(pattern(500, 4));
  EXPECT_NE(chain.piece(0).owner.get(), first);
  EXPECT_EQ(pool_.outstanding(), 2u);
  EXPECT_EQ(std::string(in_flight[0].data, in_flight[0].len), pinned);  // untouched
  EXPECT_EQ(chain.toString(), pattern(500, 4));
}

TEST_F(BufferChainTest, ClearReleasesPieces) {
  SliceRef s = sliceWith(pool_, "abc");
  BufferChain chain(pool_);
  chain.appendRef(s, s->data(), 3);
  chain.appendCopy("def");
  chain.clear();
  EXPECT_TRUE(chain.empty());
  EXPECT_EQ(s->refs, 1u);
  chain.appendCopy("ghi");
  EXPECT_EQ(chain.toString(), "ghi");
}

// ---- SlicePool ---------------------------------------------------------------------

TEST(SlicePool, ReusesReleasedSlices) {
  SlicePool pool(2);
  Slice* a = pool.acquire();
  EXPECT_EQ(a->refs, 1u);
  EXPECT_EQ(a->capacity, kDefaultSliceSize);
  EXPECT_EQ(a->pool, &pool);
  EXPECT_EQ(pool.outstanding(), 1u);
  EXPECT_EQ(pool.cached(), 0u);
  SliceRef(a).reset();
  EXPECT_EQ(pool.outstanding(), 0u);
  EXPECT_EQ(pool.cached(), 1u);
  Slice* b = pool.acquire();
  EXPECT_EQ(b, a);  // straight from the free list
  EXPECT_EQ(b->refs, 1u);
  EXPECT_EQ(pool.cached(), 0u);
  SliceRef keep(b);
  EXPECT_TRUE(keep.unique());
  SliceRef copy = keep;
  EXPECT_FALSE(keep.unique());
  EXPECT_EQ(b->refs, 2u);
  copy.reset();
  keep.reset();
  EXPECT_EQ(pool.cached(), 1u);
}

TEST(SlicePool, CachesAtMostMaxCached) {
  SlicePool pool(2);
  std::vector<SliceRef> refs;
  for (int i = 0; i < 5; ++i) {
    refs.emplace_back(pool.acquire());
  }
  EXPECT_EQ(pool.outstanding(), 5u);
  refs.clear();
  EXPECT_EQ(pool.outstanding(), 0u);
  EXPECT_EQ(pool.cached(), 2u);
}

TEST(SlicePool, OddSizesComeFromTheHeap) {
  SlicePool pool;
  SliceRef big(pool.acquire(kDefaultSliceSize * 4));
  EXPECT_GE(big->capacity, kDefaultSliceSize * 4);
  EXPECT_EQ(big->pool, nullptr);
  EXPECT_EQ(pool.outstanding(), 0u);  // not the pool's to count
  std::memset(big->data(), 'x', big->capacity + kSlicePadding);
  big.reset();  // freed, never cached
  EXPECT_EQ(pool.cached(), 0u);
}

TEST(SlicePool, SliceRefMoveAndAssign) {
  SlicePool pool;
  SliceRef a(pool.acquire());
  Slice* raw = a.get();
  SliceRef b(std::move(a));
  EXPECT_FALSE(a);  // NOLINT(bugprone-use-after-move): moved-from is empty by contract
  EXPECT_EQ(b.get(), raw);
  EXPECT_EQ(raw->refs, 1u);
  SliceRef c;
  c = b;
  EXPECT_EQ(raw->refs, 2u);
  c = SliceRef(pool.acquire());
  EXPECT_EQ(raw->refs, 1u);
  EXPECT_EQ(pool.outstanding(), 2u);
  b.reset();
  c.reset();
  EXPECT_EQ(pool.outstanding(), 0u);
}

}  // namespace
}  // namespace plexgate::buf
