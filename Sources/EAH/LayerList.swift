/// Parses layer lists like `0-3`, `1`, `0,2,5` or `0-1,4`.
public enum LayerList {
    /// The sorted, distinct layers `text` names, or nil when it is malformed.
    public static func parse(_ text: String) -> [Int]? {
        var layers = Set<Int>()
        for part in text.split(separator: ",") {
            let bounds = part.split(separator: "-", omittingEmptySubsequences: false)
            guard (1...2).contains(bounds.count), let low = Int(bounds[0]), low >= 0 else { return nil }
            let high = bounds.count == 2 ? Int(bounds[1]) : low
            guard let high, high >= low, high - low < 4096 else { return nil }
            layers.formUnion(low...high)
        }
        return layers.isEmpty ? nil : layers.sorted()
    }
}
