#!/usr/bin/env bash
# Regenerates Sources/SLKDDistill/Training/Outputs/TensorBoard/tensorboard_event.pb.swift from
# tensorboard_event.proto. Needs protoc (Debian's protobuf-compiler, or `pip install grpcio-tools`
# and PROTOC="python3 -m grpc_tools.protoc") and protoc-gen-swift built from swift-protobuf at
# the version Package.swift names (`swift build -c release --product protoc-gen-swift` in a
# checkout), on PATH or in PROTOC_GEN_SWIFT. The generated file is committed; builds never run this.
set -euo pipefail
cd "$(dirname "$0")"
protoc=${PROTOC:-protoc}
plugin=${PROTOC_GEN_SWIFT:-$(command -v protoc-gen-swift)}
out=../../Sources/SLKDDistill/Training/Outputs/TensorBoard
mkdir -p "$out"
$protoc --proto_path=. --plugin=protoc-gen-swift="$plugin" --swift_out="$out" --swift_opt=Visibility=Internal tensorboard_event.proto
