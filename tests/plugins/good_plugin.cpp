// A well-formed plugin: one parallel transform, "test_negate", that turns a sample's image into
// -scale * image (as CV_32F).
#include <memory>

#include "pipeline/payloads.h"
#include "pipeline/plugin.h"

namespace {

using namespace pipeline;

class Negate : public Stage {
 public:
  void open(const Params& params) override { scale_ = params.get_float("scale"); }

  void process(const Message& msg, Emitter& out) override {
    const auto& in = msg.as<Sample>();
    auto result = std::make_shared<Sample>(in);
    in.image.convertTo(result->image, CV_32F, -scale_);
    out.emit_like(msg, std::move(result));
  }

 private:
  double scale_ = 1.0;
};

void RegisterStages(Registry& registry) {
  StageInfo info;
  info.name = "test_negate";
  info.kind = StageKind::kTransform;
  info.concurrency = Concurrency::kParallel;
  info.doc = "Test stage: multiplies every pixel by -scale.";
  info.inputs = {{"in", "sample", "any sample"}};
  info.outputs = {{"out", "sample", "the negated sample, CV_32F"}};
  info.params = {FloatParam("scale", 1.0, 0.0, 10.0, "factor applied before negating")};
  info.create = [] { return std::make_unique<Negate>(); };
  registry.add(std::move(info));
}

}  // namespace

PIPELINE_PLUGIN("test_good", "1.2.3", RegisterStages)
