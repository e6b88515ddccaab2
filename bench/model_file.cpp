#include "model_file.h"

#include <google/protobuf/text_format.h>

#include <fstream>
#include <sstream>
#include <stdexcept>

namespace pipeline::bench {

proto::ModelSpec ReadModelSpecFile(const std::string& path) {
  std::ifstream file(path);
  std::stringstream text;
  text << file.rdbuf();
  proto::ModelSpec spec;
  if (!file || !google::protobuf::TextFormat::ParseFromString(text.str(), &spec)) {
    throw std::invalid_argument(path + ": not a readable ModelSpec (protobuf text format)");
  }
  return spec;
}

}  // namespace pipeline::bench
