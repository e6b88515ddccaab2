#include "stages/sources/dataset_file.h"

#include <google/protobuf/io/tokenizer.h>
#include <google/protobuf/text_format.h>

#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>
#include <stdexcept>

namespace pipeline {
namespace {

// Collects the parser's complaints with their line numbers instead of printing them to stderr.
class ErrorCollector : public google::protobuf::io::ErrorCollector {
 public:
  void AddError(int line, int column, const std::string& message) override {
    if (first_.empty()) {
      first_ =
          "line " + std::to_string(line + 1) + ":" + std::to_string(column + 1) + ": " + message;
    }
  }
  const std::string& first() const { return first_; }

 private:
  std::string first_;
};

std::string Resolve(const std::filesystem::path& folder, const std::string& path) {
  if (path.empty() || std::filesystem::path(path).is_absolute()) return path;
  return (folder / path).lexically_normal().string();
}

}  // namespace

proto::DatasetSpec ReadDatasetFile(const std::string& path) {
  std::ifstream file(path, std::ios::binary);
  if (!file) throw std::runtime_error(path + ": cannot open the dataset file");
  std::ostringstream text;
  text << file.rdbuf();
  // A dataset file is a few lines; anything this large is not one.
  if (text.str().size() > (1u << 20)) {
    throw std::runtime_error(path + ": over 1 MiB, too large for a dataset file");
  }

  proto::DatasetSpec spec;
  ErrorCollector errors;
  google::protobuf::TextFormat::Parser parser;
  parser.RecordErrorsTo(&errors);
  if (!parser.ParseFromString(text.str(), &spec)) {
    throw std::runtime_error(path + ": " + errors.first());
  }
  auto fail = [&](const std::string& problem) { throw std::runtime_error(path + ": " + problem); };
  if (spec.train().images().empty()) fail("gives no train { images: ... }");
  std::set<std::string> names;
  for (const std::string& name : spec.class_names()) {
    if (name.empty()) fail("has an empty class name");
    if (!names.insert(name).second) fail("names class \"" + name + "\" twice");
  }
  if (spec.has_mean() && !(spec.mean() >= 0 && spec.mean() <= 1)) {
    fail("mean " + std::to_string(spec.mean()) + " is outside [0, 1] (pixels scaled to [0, 1])");
  }
  if (spec.has_std() && !(spec.std() > 0 && spec.std() <= 1)) {
    fail("std " + std::to_string(spec.std()) + " is outside (0, 1]");
  }
  if (spec.has_mean() != spec.has_std()) fail("gives one of mean and std: give both or neither");

  const std::filesystem::path folder = std::filesystem::path(path).parent_path();
  for (proto::DatasetPart* part : {spec.mutable_train(), spec.mutable_test()}) {
    part->set_images(Resolve(folder, part->images()));
    part->set_labels(Resolve(folder, part->labels()));
  }
  return spec;
}

}  // namespace pipeline
