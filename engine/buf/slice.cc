#include "engine/buf/slice.h"

#include <simdjson.h>

#include <cstdlib>
#include <new>

namespace plexgate::buf {

static_assert(kSlicePadding >= simdjson::SIMDJSON_PADDING, "slices must carry simdjson's padding");
static_assert(sizeof(Slice) == 16, "slice data stays 16-byte aligned");

namespace {

Slice* allocateSlice(size_t capacity, SlicePool* pool) {
  void* mem = std::malloc(sizeof(Slice) + capacity + kSlicePadding);
  if (mem == nullptr) {
    std::abort();  // out of memory on the data path: nothing sane to do
  }
  Slice* s = static_cast<Slice*>(mem);
  s->refs = 1;
  s->capacity = static_cast<uint32_t>(capacity);
  s->pool = pool;
  return s;
}

}  // namespace

SlicePool::~SlicePool() { trim(); }

void SlicePool::trim() {
  for (Slice* s : free_) {
    std::free(s);
  }
  free_.clear();
}

Slice* SlicePool::acquire(size_t min_capacity) {
  if (min_capacity > kDefaultSliceSize) {
    return allocateSlice(min_capacity, nullptr);
  }
  outstanding_.store(outstanding_.load(std::memory_order_relaxed) + 1, std::memory_order_relaxed);
  if (!free_.empty()) {
    Slice* s = free_.back();
    free_.pop_back();
    s->refs = 1;
    return s;
  }
  return allocateSlice(kDefaultSliceSize, this);
}

void SlicePool::release(Slice* s) {
  outstanding_.store(outstanding_.load(std::memory_order_relaxed) - 1, std::memory_order_relaxed);
  if (free_.size() < max_cached_) {
    free_.push_back(s);
  } else {
    std::free(s);
  }
}

void SliceRef::reset() {
  Slice* s = std::exchange(s_, nullptr);
  if (s != nullptr && --s->refs == 0) {
    if (s->pool != nullptr) {
      s->pool->release(s);
    } else {
      std::free(s);
    }
  }
}

}  // namespace plexgate::buf
