"""Train the LA-DNN: a timm backbone with a COVID head and a five-lesion auxiliary head."""
