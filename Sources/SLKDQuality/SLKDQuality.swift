@_exported import SLKDTensor
