module.exports = { uri: 'public/plugins/casefile-forensics-app/module.js' };
