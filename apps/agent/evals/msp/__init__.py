"""The MSP eval world: law-firm and accounting clients on Microsoft 365 and NinjaOne (``gaby eval --world msp``)."""
