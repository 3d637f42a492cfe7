"""The SSH backend: real hosts listed in an inventory file, reached with the OpenSSH client."""
