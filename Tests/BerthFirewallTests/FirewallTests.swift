import Testing
@testable import BerthFirewall
