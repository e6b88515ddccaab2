#include "stages/transforms/prediction_groups.h"

#include <algorithm>

namespace pipeline {

bool PredictionGroup::failed() const {
  return std::any_of(parts.begin(), parts.end(),
                     [](const auto& part) { return !part->error.empty(); });
}

std::vector<PredictionGroup> PredictionGrouper::add(const Message& msg) {
  const Prediction& prediction = msg.as<Prediction>();
  std::vector<PredictionGroup> done;
  if (open_ && (open_->epoch != msg.epoch || open_->index != msg.index)) {
    done.push_back(std::move(*open_));
    open_.reset();
  }
  if (!open_) open_ = PredictionGroup{msg.epoch, msg.index, {}};
  open_->parts.emplace_back(msg.payload, &prediction);
  const int expected = std::max(1, prediction.parts);
  const int arrived = static_cast<int>(open_->parts.size());
  if (arrived >= expected && (trust_parts_ || expected > 1)) {
    done.push_back(std::move(*open_));
    open_.reset();
  }
  return done;
}

std::optional<PredictionGroup> PredictionGrouper::flush() {
  std::optional<PredictionGroup> group = std::move(open_);
  open_.reset();
  return group;
}

}  // namespace pipeline
