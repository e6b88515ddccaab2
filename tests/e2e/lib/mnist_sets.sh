# Sourced by e2e tests that run a repository training graph: `mnist_sets`, the --set arguments
# that point its train_data and test_data sources at the MNIST copy of the test environment.
mnist_sets=(--set "train_data.images=$MNIST_DIR/train-images-idx3-ubyte.gz"
            --set "train_data.labels=$MNIST_DIR/train-labels-idx1-ubyte.gz"
            --set "test_data.images=$MNIST_DIR/t10k-images-idx3-ubyte.gz"
            --set "test_data.labels=$MNIST_DIR/t10k-labels-idx1-ubyte.gz")
