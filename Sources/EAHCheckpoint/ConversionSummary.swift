/// What a conversion did.
public struct ConversionSummary: Sendable, Equatable {
    public let outputPath: String
    public let tensorCount: Int
    /// Tensor bytes read from the source.
    public let bytesRead: Int
    /// Size of the output file.
    public let bytesWritten: Int

    public init(outputPath: String, tensorCount: Int, bytesRead: Int, bytesWritten: Int) {
        self.outputPath = outputPath
        self.tensorCount = tensorCount
        self.bytesRead = bytesRead
        self.bytesWritten = bytesWritten
    }
}
