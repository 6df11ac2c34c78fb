"""Thumbnail render service: the same image on ECS Fargate and in the local stack."""
