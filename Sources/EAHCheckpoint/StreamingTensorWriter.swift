/// A checkpoint writer that takes tensor bytes one tensor at a time.
///
/// Callers pass each tensor of `writeOrder` in turn, in one or more `write` calls whose byte
/// counts add up to the tensor's size, then call `finish()`, which renames the file into
/// place. Dropping the writer before `finish()` removes the partial file.
protocol StreamingTensorWriter: AnyObject {
    /// The order tensors' bytes must arrive in.
    var writeOrder: [TensorPlan] { get }
    func write(_ bytes: UnsafeRawBufferPointer) throws(CheckpointError)
    func finish() throws(CheckpointError)
}
