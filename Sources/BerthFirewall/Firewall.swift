/// The firewall stage: the plan rendered as nftables rules in berth's own table, applied atomically.
package enum Firewall {}
