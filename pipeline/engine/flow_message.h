// What travels along the edges of the flow graph: bundles of envelopes, each carrying the
// back-pressure ticket of the source message it came from.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <vector>

#include "pipeline/payload.h"

namespace pipeline {

// One unit of back-pressure: a source message counted by its limiter. The count is given back
// when the last envelope derived from that message is gone — copies share the ticket, and an
// output built from several inputs holds all of theirs.
class Ticket {
 public:
  explicit Ticket(std::function<void()> release) : release_(std::move(release)) {}
  explicit Ticket(std::vector<std::shared_ptr<Ticket>> held) : held_(std::move(held)) {}
  Ticket(const Ticket&) = delete;
  Ticket& operator=(const Ticket&) = delete;
  ~Ticket() {
    if (release_) release_();
  }

 private:
  std::function<void()> release_;
  std::vector<std::shared_ptr<Ticket>> held_;
};

// Lets tickets reach their limiter only while the graph exists: tickets still alive when the
// graph is torn down (after a cancelled run) must not touch destroyed nodes.
class TicketGate {
 public:
  explicit TicketGate(std::function<void()> release) : release_(std::move(release)) {}
  void release() {
    std::lock_guard lock(mutex_);
    if (open_) release_();
  }
  void close() {
    std::lock_guard lock(mutex_);
    open_ = false;
  }

 private:
  std::mutex mutex_;
  bool open_ = true;
  std::function<void()> release_;
};

enum class EnvelopeKind : uint8_t { kData, kEndOfEpoch, kEndOfStream };

struct Envelope {
  EnvelopeKind kind = EnvelopeKind::kData;
  int port = 0;  // producer's output port; control envelopes go to every consumer
  int64_t epoch = 0;
  int64_t index = 0;
  std::shared_ptr<const Payload> payload;
  std::shared_ptr<Ticket> ticket;
};

// The envelopes one stage call produced. `seq` numbers a producer's bundles densely from 0, so a
// sequencer can restore their order after a parallel stage.
struct Bundle {
  uint64_t seq = 0;
  std::vector<Envelope> items;
  // A source's bundle keeps its limiter slot even when it carries nothing.
  std::shared_ptr<Ticket> ticket;
  // When its producer finished it, i.e. when it became ready for its consumers (--profile tells
  // a consumer's wait for input from its wait for a thread with it).
  std::chrono::steady_clock::time_point ready_at;
};
using BundlePtr = std::shared_ptr<const Bundle>;

}  // namespace pipeline
