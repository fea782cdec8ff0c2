/// The broker stage: one process owning every socket (see DESIGN.md, "The broker").
package enum BerthBrokerModule {}
