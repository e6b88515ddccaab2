// What a stage receives: one data message with its position in the stream.
#pragma once

#include <cstdint>
#include <memory>

#include "pipeline/payload.h"

namespace pipeline {

struct Message {
  // Which pass over the source this message belongs to (0-based).
  int64_t epoch = 0;
  // The sample's position within its epoch as the source numbered it; with epoch and the graph
  // seed it keys every random choice, so results never depend on thread timing.
  int64_t index = 0;
  // Input port it arrived on (index into StageInfo::inputs).
  int port = 0;
  // Shared and immutable: a stage that changes a payload emits a new one.
  std::shared_ptr<const Payload> payload;

  template <typename T>
  const T& as() const {
    return payload_as<T>(payload.get());
  }
};

// Where a stage sends its output. Emitted messages keep their order within one stage.
class Emitter {
 public:
  virtual ~Emitter() = default;
  // Sends a data message on output port `port` (index into StageInfo::outputs).
  virtual void emit(std::shared_ptr<const Payload> payload, int64_t epoch, int64_t index,
                    int port = 0) = 0;
  // Sources only: every message of `epoch` has been emitted. Downstream stages see
  // end_epoch() in order, after that epoch's data.
  virtual void end_epoch(int64_t epoch) = 0;

  // Emits with the same stream position as `from` (the usual case for transforms).
  void emit_like(const Message& from, std::shared_ptr<const Payload> payload, int port = 0) {
    emit(std::move(payload), from.epoch, from.index, port);
  }
};

}  // namespace pipeline
