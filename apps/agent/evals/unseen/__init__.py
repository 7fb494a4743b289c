"""The unseen split: tickets written blind to the engine (see ``tickets-unseen.yaml``); run once per landing."""
