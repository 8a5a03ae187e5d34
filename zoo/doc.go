// Package zoo holds the GoApprox model zoo: MLP, LeNet-5, ResNet-8, a small
// MobileNetV2 and a small VGG, each written as an ordinary Gorgonia graph, as
// a user's own model would be (gorgonia.Mul for dense layers, gorgonia.Conv2d
// or ops.GroupedConv2d for convolutions, nn.BatchNormAct (batch norm and the
// ReLU or ReLU6 after it as one op, the same values as nn.BatchNorm followed
// by nn.ReLU or nn.ReLU6 in fewer passes over the activations), nn.ReLU,
// nn.MaxPool2D, nn.GlobalAvgPool, gorgonia.Add for residual connections;
// nn's ReLU and MaxPool2D replace Gorgonia's Rectify and MaxPool2D, which
// allocate their results on every run). Package graph then turns the multiplications into
// approximate layers; nothing here knows about quantization.
//
// # Names
//
// A weight node is named after its layer ("conv1", "fc3", "s2b1.conv2"),
// because package graph names each approximate layer after its weight, and
// those are the names users select layers by (-layer-lut conv2=...). Other
// learnables carry the layer name and a suffix: "fc3.bias", "conv1.bn.scale",
// "conv1.bn.bias".
//
// # Biases
//
// A layer followed by batch normalisation has no bias (the normalisation
// removes it); the others add a learnable bias with gorgonia.BroadcastAdd after
// the product, which the approximate layer keeps in float, as TorchApprox does.
//
// # Initialisation
//
// All values are drawn from one generator seeded by the caller (nn.NewRand), in
// a fixed order, so a seed reproduces a model exactly: weights of layers
// followed by ReLU from Kaiming-uniform, the classifier from Glorot-uniform,
// biases and batch-norm shifts 0, batch-norm scales 1.
//
// # Inputs
//
// A model is built for a fixed batch size and input shape (C, H, W) and says
// which shapes it accepts (Model.Accepts) and hence which registered data sets
// (Model.Datasets): the convolutional models need enough pixels for their
// poolings and strides.
package zoo
