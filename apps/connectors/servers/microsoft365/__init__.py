"""Microsoft 365, Entra ID and Intune through Microsoft Graph (msgraph-sdk + azure-identity)."""
