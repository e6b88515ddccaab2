#include "nn/int8/inference_net.h"

#include <algorithm>
#include <cmath>
#include <stdexcept>

#include "nn/int8/max_pool_u8.h"

namespace pipeline::cnn::int8 {
namespace {

using dnnl::memory;
using DataType = memory::data_type;
using FormatTag = memory::format_tag;

// Largest magnitudes of the integer types the activations use.
constexpr float kS8Max = 127.0f;
constexpr float kU8Max = 255.0f;

float RangeOf(const std::map<std::string, float>& ranges, const std::string& tensor) {
  const auto found = ranges.find(tensor);
  if (found == ranges.end()) {
    throw std::invalid_argument("int8 calibration has no range for tensor " + tensor);
  }
  return found->second;
}

// A reorder from `from` to `to`, scaling every value by `scale` (1: a pure layout change).
dnnl::reorder ScaledReorder(const memory& from, const memory& to, float scale) {
  dnnl::primitive_attr attr;
  if (scale != 1.0f) attr.set_output_scales(0, {scale});
  return dnnl::reorder(dnnl::reorder::primitive_desc(from, to, attr));
}

// Per output channel: the scale that maps the channel's largest |weight| to 127.
std::vector<float> WeightScales(const FoldedWeights& weights) {
  const size_t outputs = static_cast<size_t>(weights.shape[0]);
  const size_t per_output = weights.weight.size() / outputs;
  std::vector<float> scales(outputs);
  for (size_t o = 0; o < outputs; ++o) {
    float largest = 0;
    for (size_t k = 0; k < per_output; ++k) {
      largest = std::max(largest, std::abs(weights.weight[o * per_output + k]));
    }
    scales[o] = largest > 0 ? kS8Max / largest : 1.0f;  // an all-zero channel stays zero
  }
  return scales;
}

// Dense weights (units, C, H, W) reordered to (units, H, W, C) for an input of `dims` (N, C, H, W).
std::vector<float> NhwcOrderWeights(const std::vector<float>& weights, const memory::dims& dims) {
  const size_t channels = static_cast<size_t>(dims[1]), rows = static_cast<size_t>(dims[2]),
               cols = static_cast<size_t>(dims[3]);
  const size_t per_unit = channels * rows * cols;
  std::vector<float> result(weights.size());
  for (size_t unit = 0; unit < weights.size() / per_unit; ++unit) {
    const float* from = weights.data() + unit * per_unit;
    float* to = result.data() + unit * per_unit;
    for (size_t c = 0; c < channels; ++c) {
      for (size_t pixel = 0; pixel < rows * cols; ++pixel) {
        to[pixel * channels + c] = from[c * rows * cols + pixel];
      }
    }
  }
  return result;
}

}  // namespace

InferenceNet::InferenceNet(const InferencePlan& plan, const std::map<std::string, float>& ranges,
                           NetPrecision precision, int64_t batch, const dnnl::engine& engine)
    : precision_(precision), batch_(batch), engine_(engine) {
  const FeatureShape& input = plan.input;
  // The caller's NHWC images; with one channel that is also nchw.
  const memory::desc images_md({batch, input.channels, input.rows, input.cols}, DataType::f32,
                               input.channels == 1 ? FormatTag::nchw : FormatTag::nhwc);
  images_ = memory(images_md, engine_, DNNL_MEMORY_NONE);
  current_ = images_;
  if (precision_ == NetPrecision::kInt8) current_scale_ = kS8Max / RangeOf(ranges, kInputTensor);
  for (const PlanStep& step : plan.steps) {
    if (step.kind == PlanStep::Kind::kWeighted) {
      AddWeighted(step, ranges);
    } else {
      AddPool(step);
    }
  }
}

memory InferenceNet::Input(const memory::desc& wanted) {
  if (current_.get_desc() == wanted) return current_;
  const bool quantizes =
      current_.get_desc().data_type() == DataType::f32 && wanted.data_type() != DataType::f32;
  memory converted(wanted, engine_);
  steps_.push_back({ScaledReorder(current_, converted, quantizes ? current_scale_ : 1.0f),
                    {{DNNL_ARG_FROM, current_}, {DNNL_ARG_TO, converted}}});
  return converted;
}

void InferenceNet::AddWeighted(const PlanStep& step, const std::map<std::string, float>& ranges) {
  const ResolvedLayer& layer = step.layer;
  const bool int8 = precision_ == NetPrecision::kInt8;
  const bool conv = layer.spec.has_conv();
  const memory::dim n = batch_, outputs = layer.out.channels;
  const memory::desc& current = current_.get_desc();

  // Source: int8 reads s8 when the values can be negative (the image), else what it is given.
  DataType src_type = DataType::f32;
  if (int8) src_type = current.data_type() == DataType::f32 ? DataType::s8 : current.data_type();
  const DataType weight_type = int8 ? DataType::s8 : DataType::f32;
  DataType dst_type = DataType::f32;
  if (int8 && !step.logits) dst_type = step.relu ? DataType::u8 : DataType::s8;

  memory::dims src_dims = current.dims();
  memory::dims weight_dims;
  const float* weight_values = step.weights.weight.data();
  std::vector<float> permuted;
  if (conv) {
    const Window& w = layer.window;
    weight_dims = {outputs, layer.in.channels, w.kernel_rows, w.kernel_cols};
  } else if (int8 && src_dims.size() == 4 &&
             current == memory::desc(src_dims, current.data_type(), FormatTag::nhwc)) {
    // An NHWC image (what the int8 convolutions write) is already one row of H*W*C values per
    // image: read it as 2-D, with the weights permuted from (units, C, H, W) to (units, H, W, C).
    // oneDNN 2.6 would otherwise reorder the image to NCHW for a slower gemm kernel.
    permuted = NhwcOrderWeights(step.weights.weight, src_dims);
    weight_values = permuted.data();
    current_ = memory(memory::desc({n, src_dims[1] * src_dims[2] * src_dims[3]},
                                   current.data_type(), FormatTag::nc),
                      engine_, current_.get_data_handle());
    src_dims = current_.get_desc().dims();
    weight_dims = {outputs, src_dims[1]};
  } else {
    weight_dims = src_dims;  // (units, C, H, W) for a 4-D input: NCHW flatten order
    weight_dims[0] = outputs;
  }
  const memory::desc src_md(src_dims, src_type, FormatTag::any);
  const memory::desc weights_md(weight_dims, weight_type, FormatTag::any);
  const memory::desc bias_md({outputs}, DataType::f32, FormatTag::a);
  memory::dims dst_dims =
      conv ? memory::dims{n, outputs, layer.out.rows, layer.out.cols} : memory::dims{n, outputs};
  // Plain outputs where someone reads them on the host: the logits, and calibration.
  const bool plain_dst = step.logits || !int8;
  const FormatTag plain_tag = dst_dims.size() == 4 ? FormatTag::nchw : FormatTag::nc;
  const memory::desc dst_md(dst_dims, dst_type, plain_dst ? plain_tag : FormatTag::any);

  // int value = real * scale: s_src for the input, s_w[o] per output channel, s_dst for the
  // output. The s32 accumulator holds s_src * s_w[o] * (real sum); oneDNN 2.x adds the bias to the
  // accumulator and then multiplies by the output scale, so the bias is given in accumulator
  // units and the output scale takes the accumulator to s_dst.
  const std::vector<float> weight_scales =
      int8 ? WeightScales(step.weights) : std::vector<float>(static_cast<size_t>(outputs), 1.0f);
  float dst_scale = 1.0f;
  if (int8 && !step.logits) dst_scale = (step.relu ? kU8Max : kS8Max) / RangeOf(ranges, layer.name);
  const float src_scale = int8 ? current_scale_ : 1.0f;
  std::vector<float> output_scales(static_cast<size_t>(outputs));
  std::vector<float> bias(step.weights.bias);
  for (size_t o = 0; o < output_scales.size(); ++o) {
    const float accumulator_scale = src_scale * weight_scales[o];
    output_scales[o] = dst_scale / accumulator_scale;
    bias[o] *= accumulator_scale;
  }
  dnnl::primitive_attr attr;
  if (int8) attr.set_output_scales(1 << 1, output_scales);  // per channel: dst dimension 1
  // The ReLU as a post-op in both precisions (a u8 output would clip negatives to 0 anyway).
  if (step.relu) {
    dnnl::post_ops ops;
    ops.append_eltwise(1.0f, dnnl::algorithm::eltwise_relu, 0.0f, 0.0f);
    attr.set_post_ops(ops);
  }

  dnnl::primitive primitive;
  memory::desc chosen_src, chosen_weights, chosen_dst;
  std::string implementation;
  if (conv) {
    const Window& w = layer.window;
    const dnnl::convolution_forward::primitive_desc pd({dnnl::prop_kind::forward_inference,
                                                        dnnl::algorithm::convolution_direct,
                                                        src_md,
                                                        weights_md,
                                                        bias_md,
                                                        dst_md,
                                                        {w.stride_rows, w.stride_cols},
                                                        {w.pad_top, w.pad_left},
                                                        {w.pad_bottom, w.pad_right}},
                                                       attr, engine_);
    primitive = dnnl::convolution_forward(pd);
    chosen_src = pd.src_desc();
    chosen_weights = pd.weights_desc();
    chosen_dst = pd.dst_desc();
    implementation = pd.impl_info_str();
  } else {
    const dnnl::inner_product_forward::primitive_desc pd(
        {dnnl::prop_kind::forward_inference, src_md, weights_md, bias_md, dst_md}, attr, engine_);
    primitive = dnnl::inner_product_forward(pd);
    chosen_src = pd.src_desc();
    chosen_weights = pd.weights_desc();
    chosen_dst = pd.dst_desc();
    implementation = pd.impl_info_str();
  }
  const memory src = Input(chosen_src);

  // Weights: fp32 (O, I, ...) row-major -> the primitive's layout, quantized per output channel
  // by the reorder itself (which also adds what the kernel needs beside them, e.g. compensation).
  const memory::desc logical_md(weight_dims, DataType::f32,
                                weight_dims.size() == 4 ? FormatTag::oihw : FormatTag::oi);
  memory logical(logical_md, engine_, const_cast<float*>(weight_values));
  memory weights(chosen_weights, engine_);
  {
    dnnl::primitive_attr weight_attr;
    if (int8) weight_attr.set_output_scales(1 << 0, weight_scales);
    dnnl::stream stream(engine_);
    dnnl::reorder(dnnl::reorder::primitive_desc(logical, weights, weight_attr))
        .execute(stream, logical, weights);
    stream.wait();
  }
  memory bias_memory(bias_md, engine_);
  std::copy(bias.begin(), bias.end(), static_cast<float*>(bias_memory.get_data_handle()));

  memory dst(chosen_dst, engine_);
  steps_.push_back({primitive,
                    {{DNNL_ARG_SRC, src},
                     {DNNL_ARG_WEIGHTS, weights},
                     {DNNL_ARG_BIAS, bias_memory},
                     {DNNL_ARG_DST, dst}}});
  implementations_ += layer.name + ": " + implementation + "\n";
  current_ = dst;
  current_scale_ = dst_scale;
  if (!int8 && !step.logits) observed_[layer.name] = dst;
}

void InferenceNet::AddPool(const PlanStep& step) {
  const ResolvedLayer& layer = step.layer;
  const Window& w = layer.window;
  const memory::desc& src_md = current_.get_desc();
  const bool max = layer.spec.pool().kind() != proto::POOL_AVG;
  const bool unpadded = w.pad_top == 0 && w.pad_left == 0 && w.pad_bottom == 0 && w.pad_right == 0;
  if (max && unpadded && src_md.data_type() == DataType::u8 &&
      src_md == memory::desc(src_md.dims(), DataType::u8, FormatTag::nhwc)) {
    const PoolShape shape{batch_,         layer.in.channels, layer.in.rows, layer.in.cols,
                          layer.out.rows, layer.out.cols,    w.kernel_rows, w.kernel_cols,
                          w.stride_rows,  w.stride_cols};
    memory dst(memory::desc({batch_, layer.out.channels, layer.out.rows, layer.out.cols},
                            DataType::u8, FormatTag::nhwc),
               engine_);
    steps_.push_back({{}, {}, [shape, src = current_, dst] {
                        MaxPoolU8Nhwc(shape, static_cast<const uint8_t*>(src.get_data_handle()),
                                      static_cast<uint8_t*>(dst.get_data_handle()));
                      }});
    implementations_ += layer.name + ": max_pool_u8 (nn/int8)\n";
    current_ = dst;
    return;
  }
  const bool plain = precision_ == NetPrecision::kFloat;
  const memory::desc dst_md({batch_, layer.out.channels, layer.out.rows, layer.out.cols},
                            src_md.data_type(), plain ? FormatTag::nchw : FormatTag::any);
  const auto algorithm = layer.spec.pool().kind() == proto::POOL_AVG
                             ? dnnl::algorithm::pooling_avg_include_padding
                             : dnnl::algorithm::pooling_max;
  const dnnl::pooling_forward::primitive_desc pd({dnnl::prop_kind::forward_inference,
                                                  algorithm,
                                                  src_md,
                                                  dst_md,
                                                  {w.stride_rows, w.stride_cols},
                                                  {w.kernel_rows, w.kernel_cols},
                                                  {w.pad_top, w.pad_left},
                                                  {w.pad_bottom, w.pad_right}},
                                                 engine_);
  const memory src = Input(pd.src_desc());
  memory dst(pd.dst_desc(), engine_);
  steps_.push_back({dnnl::pooling_forward(pd), {{DNNL_ARG_SRC, src}, {DNNL_ARG_DST, dst}}});
  implementations_ += layer.name + ": " + std::string(pd.impl_info_str()) + "\n";
  current_ = dst;  // pooling keeps the scale: max and mean of scaled values are scaled alike
}

void InferenceNet::forward(const float* images, dnnl::stream& stream) {
  images_.set_data_handle(const_cast<float*>(images));
  for (Step& step : steps_) {
    if (step.host) {
      stream.wait();  // the primitive before it has written its input
      step.host();
    } else {
      step.primitive.execute(stream, step.args);
    }
  }
  stream.wait();
}

const float* InferenceNet::logits() const {
  return static_cast<const float*>(current_.get_data_handle());
}

}  // namespace pipeline::cnn::int8
