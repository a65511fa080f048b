"""HL7 v2 for bedside monitors: IHE PCD-01 ORU^R01 read into a `DeviceReport`, ACKs, a writer."""
