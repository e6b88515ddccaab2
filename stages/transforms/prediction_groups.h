// Gathers the predictions that belong to one photo or frame: the digits of one source message
// arrive as consecutive predictions with the same (epoch, index), part 0..parts-1.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <vector>

#include "pipeline/message.h"
#include "pipeline/payloads.h"

namespace pipeline {

struct PredictionGroup {
  int64_t epoch = 0;
  int64_t index = 0;
  std::vector<std::shared_ptr<const Prediction>> parts;  // in arrival (left-to-right) order

  const Prediction& first() const { return *parts.front(); }
  bool failed() const;  // some part has an error
};

class PredictionGrouper {
 public:
  // trust_parts: a group is complete as soon as `parts` predictions arrived (live video, where
  // waiting for the next frame would add a frame of latency). Otherwise a group is complete when
  // a prediction of another message arrives or flush() is called, and early only once more
  // than one part arrived and all of them did; that also groups predictions whose `parts` a
  // classifier left at 1.
  explicit PredictionGrouper(bool trust_parts) : trust_parts_(trust_parts) {}

  // Adds one prediction message; returns the groups it completed, oldest first.
  std::vector<PredictionGroup> add(const Message& msg);
  // The group still open, if any (end of epoch, end of stream).
  std::optional<PredictionGroup> flush();

 private:
  bool trust_parts_;
  std::optional<PredictionGroup> open_;
};

}  // namespace pipeline
