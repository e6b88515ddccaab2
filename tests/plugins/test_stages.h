// A minimal stage declaration shared by the loader's test plugins, so each plugin file only
// says what is special about it.
#pragma once

#include <memory>
#include <string>

#include "pipeline/registry.h"

namespace pipeline::test_plugins {

// Forwards every sample unchanged.
class PassThrough : public Stage {
 public:
  void process(const Message& msg, Emitter& out) override { out.emit_like(msg, msg.payload); }
};

inline StageInfo PassThroughInfo(std::string name) {
  StageInfo info;
  info.name = std::move(name);
  info.kind = StageKind::kTransform;
  info.concurrency = Concurrency::kParallel;
  info.doc = "Test stage: forwards every sample unchanged.";
  info.inputs = {{"in", "sample", "any sample"}};
  info.outputs = {{"out", "sample", "the same sample"}};
  info.create = [] { return std::make_unique<PassThrough>(); };
  return info;
}

}  // namespace pipeline::test_plugins
