// The layer registry (nn/layers/layer_kind.h) against the proto: a LayerSpec field added without
// a registered LayerKind fails here, before a spec using it reaches a switch nobody updated.
#include <google/protobuf/descriptor.h>
#include <gtest/gtest.h>

#include <set>
#include <string>

#include "nn/layers/layer_kind.h"
#include "nn/model_spec.h"

namespace pipeline::cnn {
namespace {

TEST(LayerRegistry, EveryLayerSpecKindIsRegistered) {
  const google::protobuf::OneofDescriptor* kinds =
      proto::LayerSpec::descriptor()->FindOneofByName("kind");
  ASSERT_NE(kinds, nullptr);
  for (int i = 0; i < kinds->field_count(); ++i) {
    const google::protobuf::FieldDescriptor* field = kinds->field(i);
    const auto kind_case = static_cast<proto::LayerSpec::KindCase>(field->number());
    const LayerKind* kind = find_layer_kind(kind_case);
    ASSERT_NE(kind, nullptr) << "LayerSpec." << field->name()
                             << " has no LayerKind in nn/layers/layer_registry.cpp";
    EXPECT_EQ(kind->kind_case(), kind_case) << field->name();
  }
  EXPECT_EQ(registered_layer_kinds().size(), static_cast<size_t>(kinds->field_count()))
      << "a kind is registered twice, or for no LayerSpec field";
}

TEST(LayerRegistry, KindsHaveDistinctNames) {
  std::set<std::string> names;
  for (const LayerKind* kind : registered_layer_kinds()) {
    EXPECT_TRUE(names.insert(kind->name()).second) << kind->name();
  }
}

TEST(LayerRegistry, NotSetHasNoKind) {
  EXPECT_EQ(find_layer_kind(proto::LayerSpec::KIND_NOT_SET), nullptr);
}

TEST(LayerRegistry, KindsDescribeTheSeedNetwork) {
  const ResolvedModel model = resolve_model(seed_network_spec());
  std::string kinds;
  for (const ResolvedLayer& layer : model.layers) kinds += describe_layer(layer) + "; ";
  EXPECT_EQ(kinds,
            "conv 3x3 x32; relu; conv 3x3 x64; relu; maxpool 2x2/2; flatten; dense 128; relu; "
            "dense 10; ");
}

TEST(LayerRegistry, ALayerWithoutKindNamesEveryKind) {
  proto::ModelSpec spec = seed_network_spec();
  spec.mutable_layer(1)->clear_kind();
  try {
    resolve_model(spec);
    FAIL() << "a layer without a kind was accepted";
  } catch (const std::invalid_argument& error) {
    EXPECT_STREQ(error.what(),
                 "model layer 2 (layer1): no layer kind set (conv, pool, dense, relu, dropout, "
                 "batchnorm, flatten)");
  }
}

}  // namespace
}  // namespace pipeline::cnn
