// `image_writer`: each picture (e.g. an annotated photo or frame) as a PNG in a folder, named
// after its position and source: 000012_photo.png.
#include <cctype>
#include <cstdio>
#include <filesystem>
#include <iostream>
#include <memory>
#include <opencv2/imgcodecs.hpp>
#include <stdexcept>
#include <string>

#include "pipeline/payloads.h"
#include "pipeline/registry.h"
#include "stages/stage_registrations.h"

namespace pipeline {
namespace {

namespace fs = std::filesystem;

// "photos/a b.jpg" → "a_b"; "camera0#12" → "camera0_12": safe in any file system.
std::string NamePart(const std::string& source) {
  std::string stem = fs::path(source).stem().string();
  if (stem.empty()) stem = "image";
  for (char& c : stem) {
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '-' && c != '_') c = '_';
  }
  return stem.substr(0, 80);
}

class ImageWriter : public Stage {
 public:
  void open(const Params& params) override {
    folder_ = params.get_string("folder");
    std::error_code error;
    fs::create_directories(folder_, error);
    if (error) throw std::runtime_error(folder_ + ": cannot create the folder: " + error.message());
  }

  void process(const Message& msg, Emitter& /*out*/) override {
    const Sample& sample = msg.as<Sample>();
    if (sample.image.empty()) {
      ++skipped_;
      return;
    }
    char number[32];
    std::snprintf(number, sizeof(number), "%06lld_", static_cast<long long>(msg.index));
    const fs::path path = fs::path(folder_) / (number + NamePart(sample.source) + ".png");
    // Written under a temporary name and renamed: a viewer never opens half a file.
    const fs::path temporary = path.string() + ".tmp.png";
    if (!cv::imwrite(temporary.string(), sample.image)) {
      throw std::runtime_error(temporary.string() + ": cannot write (" +
                               std::to_string(sample.image.channels()) + "-channel image)");
    }
    std::error_code error;
    fs::rename(temporary, path, error);
    if (error) throw std::runtime_error(path.string() + ": cannot rename: " + error.message());
    ++written_;
  }

  void close(Emitter& /*out*/) override {
    std::cout << "image_writer: " << written_ << " images to " << folder_;
    if (skipped_ > 0) std::cout << " (" << skipped_ << " without a picture skipped)";
    std::cout << std::endl;
  }

 private:
  std::string folder_;
  int64_t written_ = 0, skipped_ = 0;
};

}  // namespace

void RegisterImageWriter(Registry& registry) {
  StageInfo info;
  info.name = "image_writer";
  info.kind = StageKind::kSink;
  info.concurrency = Concurrency::kSerial;
  info.doc = "Writes each picture as a PNG into a folder (NNNNNN_source.png)";
  info.inputs = {{"images", "sample", "8/16-bit grey, BGR or BGRA pictures"}};
  info.params = {RequiredStringParam("folder", "where to write (created if missing)")};
  info.create = [] { return std::make_unique<ImageWriter>(); };
  registry.add(std::move(info));
}

}  // namespace pipeline
