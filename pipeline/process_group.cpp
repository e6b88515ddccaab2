#include "pipeline/process_group.h"

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <stdexcept>

namespace pipeline {
namespace {

class SingleProcessGroup final : public ProcessGroup {
 public:
  int rank() const override { return 0; }
  int size() const override { return 1; }
  std::string host() const override { return "localhost"; }
  void allreduce_sum(std::span<float> /*values*/) override {}
  std::vector<uint64_t> allgather(uint64_t value) override { return {value}; }
  std::vector<std::string> gather_to_root(const std::string& bytes) override { return {bytes}; }
  void barrier() override {}
  [[noreturn]] void abort_job(const std::string& message, int exit_code) override {
    std::fprintf(stderr, "%s\n", message.c_str());
    std::_Exit(exit_code);
  }
};

}  // namespace

std::string ProcessGroup::label() const {
  return "rank " + std::to_string(rank()) + " (" + host() + "): ";
}

ProcessGroup& SingleProcess() {
  static SingleProcessGroup group;
  return group;
}

ShareRange EvenShare(int64_t total, int parts, int index) {
  if (parts < 1 || index < 0 || index >= parts || total < 0) {
    throw std::invalid_argument("EvenShare: part " + std::to_string(index) + " of " +
                                std::to_string(parts) + " of " + std::to_string(total));
  }
  const int64_t base = total / parts;
  const int64_t extra = total % parts;
  ShareRange range;
  range.begin = index * base + std::min<int64_t>(index, extra);
  range.end = range.begin + base + (index < extra ? 1 : 0);
  return range;
}

}  // namespace pipeline
