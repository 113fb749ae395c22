"""marshmallow schemas: separate input and output schemas, and one output schema
per audience (citizen, department, public), so personal data cannot leak by accident."""
