import ArgumentParser
import EAH
import EAHCheckpoint
import EAHFrontEnd

// Library enums the command lines take as option values.
extension PreprocessMode: ExpressibleByArgument {}
extension EAHLayerPatch.Phase: ExpressibleByArgument {}

// Type and format names are written both ways (F16 in safetensors headers, f16 in llama.cpp):
// either case is accepted.
extension ConversionOptions.OutputFormat: ExpressibleByArgument {
    public init?(argument: String) { self.init(rawValue: argument.lowercased()) }
}

extension ConversionOptions.TargetDType: ExpressibleByArgument {
    public init?(argument: String) { self.init(rawValue: argument.lowercased()) }
}
