// Shared by the augmentation plugin tests (augment_*_test.cpp): the plugin libraries loaded from
// the build tree the way `pipeline` loads them, real MNIST digits, and a one-call way to run a
// stage on one sample through the StageHarness.
#pragma once

#include <gtest/gtest.h>

#include <cstdint>
#include <map>
#include <memory>
#include <opencv2/core.hpp>
#include <stdexcept>
#include <string>

#include "pipeline/engine/plugin_loader.h"
#include "pipeline/payloads.h"
#include "pipeline/registry.h"
#include "pipeline/testing/stage_harness.h"
#include "stages/sources/idx_reader.h"

namespace pipeline::augment_test {

// Where pipeline_add_plugin puts the libraries (tests/CMakeLists.txt passes the exact folder).
inline std::string PluginBuildDir() {
#ifdef PIPELINE_PLUGIN_BUILD_DIR
  return PIPELINE_PLUGIN_BUILD_DIR;
#else
  return std::string(PIPELINE_BINARY_DIR) + "/lib/pipeline/plugins";
#endif
}

// Where tests/plugins builds plugins/template (the my_augment stage a plugin author copies).
inline std::string TemplatePluginDir() {
  return std::string(PIPELINE_BINARY_DIR) + "/test_plugins/template";
}

// The augmentation plugins and the template, loaded once per test program; fails loudly when
// one is missing.
inline const Registry& AugmentRegistry() {
  static const Registry* registry = [] {
    auto* loaded = new Registry;
    const PluginLoadReport report = LoadPlugins({PluginBuildDir(), TemplatePluginDir()}, *loaded);
    std::string failures;
    for (const std::string& failure : report.failures) failures += failure + "\n";
    if (!failures.empty()) throw std::runtime_error("plugins failed to load:\n" + failures);
    for (const char* stage : {"random_affine", "elastic", "stroke", "noise_blur", "pixelate",
                              "random_erasing", "my_augment"}) {
      if (loaded->find(stage) == nullptr) {
        throw std::runtime_error(std::string("no stage \"") + stage + "\" in " + PluginBuildDir());
      }
    }
    return loaded;
  }();
  return *registry;
}

inline const IdxImages& MnistImages() {
  static const IdxImages* images =
      new IdxImages(ReadIdxImages(std::string(PIPELINE_MNIST_DIR) + "/t10k-images-idx3-ubyte.gz"));
  return *images;
}

// What `normalize` with MNIST's mean and std makes of an 8-bit digit: about [-0.42, 2.82].
inline cv::Mat Normalized(const cv::Mat& image) {
  cv::Mat result;
  image.convertTo(result, CV_32F, 1.0 / 255 / 0.3081, -0.1307 / 0.3081);
  return result;
}

enum class Form { kBytes, kFloat };

// MNIST test digit `i` as a sample, 8-bit or normalized, with every field set so that tests can
// check they are carried over.
inline std::shared_ptr<Sample> MnistSample(int64_t i, Form form = Form::kBytes) {
  auto sample = std::make_shared<Sample>();
  const cv::Mat digit = MnistImages().image(i).clone();
  sample->image = form == Form::kBytes ? digit : Normalized(digit);
  sample->label = static_cast<int>(i % 10);
  sample->source = "t10k-images-idx3-ubyte.gz#" + std::to_string(i);
  sample->box = cv::Rect(1, 2, 3, 4);
  sample->epoch_size = 10000;
  sample->part = 1;
  sample->parts = 3;
  sample->origin = std::make_shared<const cv::Mat>(digit);
  return sample;
}

// The text of a graph-file stage block: plugin and parameters.
inline std::string Spec(const std::string& plugin,
                        const std::map<std::string, std::string>& params = {}) {
  std::string text = "plugin: \"" + plugin + "\"";
  for (const auto& [key, value] : params) {
    text += " param { key: \"" + key + "\" value: \"" + value + "\" }";
  }
  return text;
}

// Runs one sample through the harness's stage and returns what came out (exactly one sample).
inline std::shared_ptr<const Sample> Augment(StageHarness& harness, int64_t epoch, int64_t index,
                                             std::shared_ptr<const Sample> sample) {
  harness.clear_outputs();
  harness.push(0, epoch, index, std::move(sample));
  const auto outputs = harness.outputs_of_type<Sample>();
  if (outputs.size() != 1 || harness.outputs().size() != 1) {
    throw std::runtime_error("expected one sample out, got " +
                             std::to_string(harness.outputs().size()) + " message(s)");
  }
  return outputs[0];
}

inline bool SameImage(const cv::Mat& a, const cv::Mat& b) {
  return a.size() == b.size() && a.type() == b.type() && cv::norm(a, b, cv::NORM_INF) == 0;
}

// Sum over all pixels and channels of how far each is above `background`: the amount of ink.
inline double InkSum(const cv::Mat& image, double background = 0) {
  return cv::sum(image.reshape(1))[0] -
         background * static_cast<double>(image.total()) * image.channels();
}

}  // namespace pipeline::augment_test
