// A stand-in for cnn_predict in tests of the stages after it: turns each sample into a
// Prediction carrying everything a classifier must pass on (source, box, label, error,
// part/parts, origin) and "reads" digit part k of a photo as (k + 1) % 10 with confidence 0.75.
#pragma once

#include <memory>
#include <string>

#include "pipeline/payloads.h"
#include "pipeline/registry.h"
#include "pipeline/stage.h"

namespace pipeline::stage_test {

inline std::shared_ptr<Prediction> FakeReading(const Sample& sample) {
  auto prediction = std::make_shared<Prediction>();
  prediction->source = sample.source;
  prediction->box = sample.box;
  prediction->label = sample.label;
  prediction->error = sample.error;
  prediction->part = sample.part;
  prediction->parts = sample.parts;
  prediction->origin = sample.origin;
  if (sample.error.empty()) {
    prediction->predicted = (sample.part + 1) % 10;
    prediction->confidence = 0.75f;
    prediction->probabilities.assign(10, 0.02f);
    prediction->probabilities[static_cast<size_t>(prediction->predicted)] = 0.75f;
    prediction->probabilities[static_cast<size_t>((prediction->predicted + 1) % 10)] = 0.09f;
  }
  return prediction;
}

class FakeClassifier : public Stage {
 public:
  void process(const Message& msg, Emitter& out) override {
    out.emit_like(msg, FakeReading(msg.as<Sample>()));
  }
};

inline void RegisterFakeClassifier(Registry& registry) {
  StageInfo info;
  info.name = "fake_classify";
  info.kind = StageKind::kTransform;
  info.concurrency = Concurrency::kSerial;
  info.doc = "test stand-in for cnn_predict";
  info.inputs = {{"samples", "sample", ""}};
  info.outputs = {{"predictions", "prediction", ""}};
  info.create = [] { return std::make_unique<FakeClassifier>(); };
  registry.add(std::move(info));
}

}  // namespace pipeline::stage_test
