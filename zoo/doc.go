// Package zoo holds the GoApprox model zoo, each model written as an
// ordinary Gorgonia graph, as a user's own model would be (gorgonia.Mul for
// dense layers, gorgonia.Conv2d or ops.GroupedConv2d for convolutions,
// nn.BatchNormAct (batch norm and the ReLU or ReLU6 after it as one op, the
// same values as nn.BatchNorm followed by nn.ReLU or nn.ReLU6 in fewer passes
// over the activations), nn.ReLU, nn.MaxPool2D, nn.GlobalAvgPool,
// nn.AdaptiveAvgPool2D, nn.SubsamplePad for parameter-free shortcuts,
// nn.AddAct for residual connections (the sum and the ReLU after it as one
// op, the same values as gorgonia.Add followed by nn.ReLU); nn's ReLU and
// MaxPool2D replace Gorgonia's Rectify and MaxPool2D, which allocate their
// results on every run). Package graph then turns the multiplications into approximate
// layers; nothing here knows about quantization.
//
// # Models
//
//   - The small models for MNIST-sized images: mlp, lenet5 (agn-approx's
//     LeNet-5), resnet8-1x1 (a ResNet-8 with 1x1 convolution shortcuts),
//     mobilenetv2-small and vgg.
//   - He et al.'s CIFAR ResNets as agn-approx trains them: resnet8, resnet14,
//     resnet20, resnet32, resnet44, resnet56 (6n+2 layers, 16/32/64
//     channels, option-A shortcuts: subsampling and zero channels).
//   - vgg11 and vgg16: the CIFAR variants with batch norm and one classifier
//     layer, for inputs of at least 32x32.
//   - mobilenetv2: torchvision's MobileNetV2 at width 1.0 (1280 features),
//     with the CIFAR ports' strides for inputs up to 32x32 and torchvision's
//     own for larger ones.
//   - alexnet: torchvision's AlexNet (as agn-approx fine-tunes it) for inputs
//     of at least 63x63, such as Tiny ImageNet's 64x64.
//
// Dropout, which torchvision's MobileNetV2 and AlexNet have before their
// classifiers, is left out: it has no parameters and no multiplications, and
// the zoo's graphs compute the same function in training and evaluation but
// for batch norm's statistics.
//
// Summaries (and Model.Summarize) give, for an input shape, each model's
// parameters, multiplications per image (the table lookups one image costs)
// and number of approximate layers; Net.Mults gives the multiplications of
// each layer.
//
// # Names
//
// A weight node is named after its layer ("conv1", "fc3", "s2b1.conv2" for
// the second convolution of the first block of a ResNet's second stage),
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
