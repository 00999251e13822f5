// Slice: a refcounted block of bytes with guaranteed tail padding, taken from
// and returned to its loop's SlicePool. Refcounts are not atomic: a slice is
// created, shared and released on one loop only (STYLE.md section 4).
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <utility>
#include <vector>

namespace plexgate::buf {

// simdjson::SIMDJSON_PADDING is 64; scanners may over-read this far past the
// data without copying. Checked in slice.cc against simdjson's own constant.
inline constexpr size_t kSlicePadding = 64;
inline constexpr size_t kDefaultSliceSize = 32 * 1024;

class SlicePool;

struct Slice {
  uint32_t refs;
  uint32_t capacity;  // usable bytes, padding not included
  SlicePool* pool;    // nullptr: heap-allocated odd size, freed on last unref
  // data follows: capacity + kSlicePadding bytes

  char* data() { return reinterpret_cast<char*>(this + 1); }
  const char* data() const { return reinterpret_cast<const char*>(this + 1); }
};

// Per-loop free list of standard-size slices on top of the process allocator.
class SlicePool {
 public:
  // 512: a proxy worker at 256 connections has up to about that many
  // slices in flight (request input, response bytes); a smaller cache made
  // it free and allocate 32 KiB blocks per request. At most 16 MiB of
  // address space, and EventLoop::trimSoon empties it when connections go
  // idle.
  explicit SlicePool(size_t max_cached = 512) : max_cached_(max_cached) {}
  ~SlicePool();
  SlicePool(const SlicePool&) = delete;
  SlicePool& operator=(const SlicePool&) = delete;

  // A slice with refs == 1, at least `min_capacity` usable bytes.
  Slice* acquire(size_t min_capacity = kDefaultSliceSize);
  void release(Slice* s);
  size_t cached() const { return free_.size(); }
  // Frees the cached slices (the loop went quiet after a burst).
  void trim();
  // Standard slices handed out and not yet released. Written by the loop's
  // thread only; readable (relaxed) from others, for tests and metrics.
  size_t outstanding() const { return outstanding_.load(std::memory_order_relaxed); }

 private:
  std::vector<Slice*> free_;
  size_t max_cached_;
  std::atomic<size_t> outstanding_{0};
};

// Owning handle: one reference.
class SliceRef {
 public:
  SliceRef() = default;
  explicit SliceRef(Slice* adopt) : s_(adopt) {}  // takes over an existing ref
  SliceRef(const SliceRef& o) : s_(o.s_) {
    if (s_ != nullptr) {
      ++s_->refs;
    }
  }
  SliceRef(SliceRef&& o) noexcept : s_(std::exchange(o.s_, nullptr)) {}
  SliceRef& operator=(SliceRef o) noexcept {
    std::swap(s_, o.s_);
    return *this;
  }
  ~SliceRef() { reset(); }

  void reset();
  Slice* get() const { return s_; }
  Slice* operator->() const { return s_; }
  explicit operator bool() const { return s_ != nullptr; }
  bool unique() const { return s_ != nullptr && s_->refs == 1; }

 private:
  Slice* s_ = nullptr;
};

}  // namespace plexgate::buf
