import ArgumentParser
import EAH
import EAHCheckpoint
import EAHFrontEnd

// Library enums the command lines take as option values.
extension PreprocessMode: ExpressibleByArgument {}
extension EAHLayerPatch.Phase: ExpressibleByArgument {}
extension ConversionOptions.OutputFormat: ExpressibleByArgument {}
extension ConversionOptions.TargetDType: ExpressibleByArgument {}
