// The processes that run one graph together (data-parallel training under mpirun): which one this
// is, how many there are, and the few collective operations stages need. The engine does not
// depend on MPI: a run gets the single-process group unless the program that hosts the engine
// passes another (app/ passes distributed/'s MPI group when launched by mpirun).
//
// Collectives must be called by every process in the same order, and from one thread per process
// at a time (cnn_train calls them from its model thread only).
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <vector>

namespace pipeline {

class ProcessGroup {
 public:
  virtual ~ProcessGroup() = default;

  virtual int rank() const = 0;  // 0 .. size() - 1; rank 0 writes the run's files
  virtual int size() const = 0;
  virtual std::string host() const = 0;
  bool is_root() const { return rank() == 0; }
  bool distributed() const { return size() > 1; }
  // "rank R (host): ", the prefix of every message a process of a multi-process run prints.
  std::string label() const;

  // Element-wise sum over all processes, in place; the result is the same on every process and
  // the same from run to run with the same number of processes (a fixed reduction order).
  virtual void allreduce_sum(std::span<float> values) = 0;
  // Each process's `value`, indexed by rank.
  virtual std::vector<uint64_t> allgather(uint64_t value) = 0;
  // Each process's `bytes`, indexed by rank, on rank 0; an empty vector on the others.
  virtual std::vector<std::string> gather_to_root(const std::string& bytes) = 0;
  virtual void barrier() = 0;
  // Prints `message` on this process's error stream and ends every process of the job at once
  // with `exit_code` (a failing rank must not leave the others waiting in a collective).
  [[noreturn]] virtual void abort_job(const std::string& message, int exit_code) = 0;
};

// The group of a plain run: rank 0 of 1; the collectives return their input.
ProcessGroup& SingleProcess();

// Which part of `total` items, split as evenly as possible over `parts`, part `index` holds:
// [begin, end), the first total % parts parts one item larger. Also the per-rank share of a
// global batch.
struct ShareRange {
  int64_t begin = 0;
  int64_t end = 0;
  int64_t size() const { return end - begin; }
};
ShareRange EvenShare(int64_t total, int parts, int index);

// The rank that reads position `position` of an epoch's order when `parts` ranks share it:
// position % parts. Rank r's k-th local sample is position r + k * parts, so for a global batch
// B that `parts` divides, the k-th local batches of size B / parts of all ranks together are
// exactly the single-process run's k-th batch (the last, partial one too).
inline int ShardOwner(int64_t position, int parts) { return static_cast<int>(position % parts); }
// How many of an epoch's `total` positions rank `rank` of `parts` reads.
inline int64_t ShardSize(int64_t total, int parts, int rank) {
  return total / parts + (rank < total % parts ? 1 : 0);
}

}  // namespace pipeline
