"""DICOM networking: the pynetdicom AE (SCP and SCU) and the device (AE) registry."""
