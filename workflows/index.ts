// Entry point of the workflow bundle (Worker `workflowsPath` / bundleWorkflowCode): every exported
// function is a workflow type. Keep this file to workflow exports only.
export { clusterProfileWorkflow } from './cluster-profile.js';
