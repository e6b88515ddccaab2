// A ModelSpec file as train.model reads it: the pre-parse limits, protobuf's text parser, then
// shape resolution. Must end in errors, never in a crash or a huge allocation.
#include <google/protobuf/io/tokenizer.h>
#include <google/protobuf/text_format.h>

#include <cstddef>
#include <cstdint>
#include <stdexcept>
#include <string>

#include "pipeline/engine/text_limits.h"
#include "nn/model_spec.h"

namespace {

// Protobuf logs each parse error unless a collector takes it; the fuzzer only needs the result.
class Silent : public google::protobuf::io::ErrorCollector {
 public:
  void AddError(int, google::protobuf::io::ColumnNumber, const std::string&) override {}
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string text(reinterpret_cast<const char*>(data), size);
  if (!pipeline::CheckProtoTextLimits(text, "fuzz.pbtxt").empty()) return 0;
  pipeline::proto::ModelSpec spec;
  google::protobuf::TextFormat::Parser parser;
  Silent silent;
  parser.RecordErrorsTo(&silent);
  if (!parser.ParseFromString(text, &spec)) return 0;
  try {
    const pipeline::cnn::ResolvedModel model = pipeline::cnn::resolve_model(spec);
    (void)pipeline::cnn::describe_model(model);
    (void)pipeline::cnn::forward_flops_per_image(model);
  } catch (const std::invalid_argument&) {
  }
  return 0;
}
