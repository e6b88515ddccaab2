// onnx_agreement CHECKPOINT MODEL.onnx: classifies all 10,000 MNIST test images with our own
// inference on CHECKPOINT and with OpenCV's dnn module on MODEL.onnx (through cnn_predict's ONNX
// path, OnnxClassifier), both from the same 8-bit pixels, and exits 1 unless every top-1 answer
// is the same and every probability is within 1e-4. Prints the worst difference. Used by
// tests/e2e/onnx_export.sh.
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <exception>
#include <string>
#include <vector>

#include "stages/cnn/checkpoint.h"
#include "stages/cnn/onnx_classifier.h"
#include "stages/sources/idx_reader.h"

int main(int argc, char** argv) {
  if (argc != 3) {
    std::fprintf(stderr, "usage: onnx_agreement CHECKPOINT MODEL.onnx (MNIST from %s)\n",
                 PIPELINE_MNIST_DIR);
    return 2;
  }
  try {
    using namespace pipeline;
    const IdxImages images =
        ReadIdxImages(std::string(PIPELINE_MNIST_DIR) + "/t10k-images-idx3-ubyte.gz");
    const auto snapshot = cnn::LoadCheckpoint(argv[1]);
    // The ONNX graph is fp32: compare it with our fp32 inference, whatever the training's.
    cnn::ModelSnapshot fp32 = *snapshot;
    fp32.spec.set_precision(proto::PRECISION_FP32);
    auto model = cnn::RestoreModel(fp32);
    cnn::OnnxClassifier onnx(argv[2], {});
    const int64_t n = images.count;
    const int64_t classes = model->classes();
    const size_t pixels = static_cast<size_t>(images.rows * images.cols);
    std::vector<float> ours_in, theirs_in;
    for (int64_t i = 0; i < n; ++i) {
      const cv::Mat image = images.image(i);
      const cv::Mat a = snapshot->normalization.Apply(image);
      const cv::Mat b = onnx.Prepare(image, Normalization{});
      ours_in.insert(ours_in.end(), a.ptr<float>(), a.ptr<float>() + pixels);
      theirs_in.insert(theirs_in.end(), b.ptr<float>(), b.ptr<float>() + pixels);
    }
    std::vector<float> ours(static_cast<size_t>(n * classes)), theirs;
    model->predict(ours_in.data(), n, ours.data());
    onnx.Predict(theirs_in.data(), static_cast<int>(n), theirs);
    if (theirs.size() != ours.size()) {
      std::fprintf(stderr, "OpenCV dnn gave %zu values, ours %zu\n", theirs.size(), ours.size());
      return 1;
    }
    int64_t same_top1 = 0, worst_image = 0;
    double worst = 0;
    for (int64_t i = 0; i < n; ++i) {
      const float* a = ours.data() + i * classes;
      const float* b = theirs.data() + i * classes;
      same_top1 += std::max_element(a, a + classes) - a == std::max_element(b, b + classes) - b;
      for (int64_t k = 0; k < classes; ++k) {
        const double difference = std::abs(static_cast<double>(a[k]) - b[k]);
        if (difference > worst) {
          worst = difference;
          worst_image = i;
        }
      }
    }
    std::printf(
        "%s vs %s: top-1 identical on %lld of %lld MNIST test images; worst probability "
        "difference %.3g (image %lld)\n",
        argv[1], argv[2], static_cast<long long>(same_top1), static_cast<long long>(n), worst,
        static_cast<long long>(worst_image));
    return same_top1 == n && worst <= 1e-4 ? 0 : 1;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "onnx_agreement: %s\n", e.what());
    return 1;
  }
}
