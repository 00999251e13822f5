// Mailbox: hands what a test server's thread saw (requests, bodies) to the
// test's thread.
#pragma once

#include <mutex>
#include <utility>
#include <vector>

namespace plexgate::test {

template <class T>
class Mailbox {
 public:
  void put(T v) {
    std::lock_guard<std::mutex> l(mu_);
    items_.push_back(std::move(v));
  }
  std::vector<T> all() {
    std::lock_guard<std::mutex> l(mu_);
    return items_;
  }

 private:
  std::mutex mu_;
  std::vector<T> items_;
};

}  // namespace plexgate::test
