import BerthStore

// Tests spell ids as numbers.
extension SharedStoreOwnerID: ExpressibleByIntegerLiteral {
    package init(integerLiteral value: Int) { self.init(value) }
}

extension SharedStoreSubscriptionID: ExpressibleByIntegerLiteral {
    package init(integerLiteral value: Int) { self.init(value) }
}
