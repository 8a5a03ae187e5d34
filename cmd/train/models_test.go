package main

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
)

func TestModelsListsWhatFitsTheData(t *testing.T) {
	var out, errb bytes.Buffer
	if code := run([]string{"models", "-dataset", "cifar10", "-json"}, &out, &errb, false); code != 0 {
		t.Fatalf("exit %d: %s", code, errb.String())
	}
	var rows []struct {
		Name         string `json:"name"`
		Params       int    `json:"params"`
		MACs         int64  `json:"macs"`
		ApproxLayers int    `json:"approx_layers"`
	}
	if err := json.Unmarshal(out.Bytes(), &rows); err != nil {
		t.Fatalf("output is not a JSON array of models: %v\n%s", err, out.String())
	}
	byName := map[string]int{}
	for i, r := range rows {
		byName[r.Name] = i
	}
	// He et al.'s ResNet-20 for CIFAR-10: 269,722 parameters counting batch
	// norm; 16·3·9·1024 (stem) + 6·16·16·9·1024 + 32·16·9·256 + 5·32·32·9·256
	// + 64·32·9·64 + 5·64·64·9·64 + 640 (classifier) multiplications; 19
	// convolutions and the classifier.
	r, ok := byName["resnet20"]
	if !ok {
		t.Fatalf("resnet20 missing from %v", byName)
	}
	want := int64(16*3*9*1024 + 6*16*16*9*1024 + 32*16*9*256 + 5*32*32*9*256 + 64*32*9*64 + 5*64*64*9*64 + 640)
	if got := rows[r]; got.Params != 269722 || got.MACs != want || got.ApproxLayers != 20 {
		t.Fatalf("resnet20: %+v, want 269722 parameters, %d multiplications, 20 layers", got, want)
	}
	if _, ok := byName["alexnet"]; ok {
		t.Fatal("alexnet listed for 32x32 images, which it cannot take")
	}

	out.Reset()
	if code := run([]string{"models", "-dataset", "mnist"}, &out, &errb, false); code != 0 {
		t.Fatalf("exit %d: %s", code, errb.String())
	}
	if !strings.Contains(out.String(), "lenet5") || !strings.Contains(out.String(), "416520") {
		t.Fatalf("table for mnist lacks LeNet-5's 416,520 multiplications:\n%s", out.String())
	}
	// The models left out are named with the reason.
	if !strings.Contains(out.String(), "Not for these images:\n") || !strings.Contains(out.String(), "  vgg11 needs inputs of at least 32x32, not 28x28") {
		t.Errorf("the mnist table does not say why vgg11 is missing:\n%s", out.String())
	}
	errb.Reset()
	if code := run([]string{"models", "-dataset", "mnist", "-image-size", "64"}, &out, &errb, false); code != 2 || !strings.Contains(errb.String(), "mnist has its own size") {
		t.Errorf("-image-size with mnist: exit %d, %q", code, errb.String())
	}
}

func TestModelsRefusesUnknownData(t *testing.T) {
	var out, errb bytes.Buffer
	if code := run([]string{"models", "-dataset", "svhn"}, &out, &errb, false); code != 2 {
		t.Fatalf("exit %d, want 2", code)
	}
	if !strings.Contains(errb.String(), `unknown data set "svhn"`) || !strings.Contains(errb.String(), "cifar10") {
		t.Fatalf("error %q does not name the data set and the ones that exist", errb.String())
	}
}
